import { closeSync, fstatSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A log file written with synchronous appends: each line is on disk (in the OS cache) when
 * the log call returns, so nothing is lost on a crash or a hard exit and there is nothing to
 * flush. The file and its folder are created on the first append; after a failed append the
 * file is closed and the next append opens it again (say, after the folder was recreated).
 *
 * @example
 * ```ts
 * const file = new AppendingLogFile('/var/log/ergon/app.log');
 * file.append(Buffer.from('{"message":"hello"}\n'));
 * file.size; // bytes in the file
 * ```
 */
export class AppendingLogFile {
  private descriptor: number | undefined;
  private bytes = 0;
  private regular = true;

  constructor(readonly path: string) {}

  /** The file's size in bytes as this writer knows it (opening the file if needed). */
  get size(): number {
    this.open();
    return this.bytes;
  }

  /**
   * Whether the file is a regular file (opening it if needed): `false` for standard output, a
   * terminal, a pipe or another special file, which must never be renamed or truncated.
   */
  get isRegularFile(): boolean {
    this.open();
    return this.regular;
  }

  append(data: Uint8Array): void {
    const descriptor = this.open();
    try {
      let written = 0;
      while (written < data.length) written += writeSync(descriptor, data, written);
      this.bytes += written;
    } catch (error) {
      this.close();
      throw error;
    }
  }

  close(): void {
    if (this.descriptor === undefined) return;
    const descriptor = this.descriptor;
    this.descriptor = undefined;
    closeSync(descriptor);
  }

  /** Opens the file (creating it and its folder) unless it is open; returns its descriptor. */
  open(): number {
    if (this.descriptor !== undefined) return this.descriptor;
    mkdirSync(dirname(this.path), { recursive: true });
    const descriptor = openSync(this.path, 'a');
    const stats = fstatSync(descriptor);
    this.bytes = stats.size;
    this.regular = stats.isFile();
    this.descriptor = descriptor;
    return descriptor;
  }
}
