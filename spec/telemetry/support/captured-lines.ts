/** A stream for `ConsoleLogSink` that keeps the lines written to it. */
export class CapturedLines {
  readonly lines: string[] = [];

  write(text: string): boolean {
    this.lines.push(...text.split('\n').filter((line) => line !== ''));
    return true;
  }
}
