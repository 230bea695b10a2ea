import type { ProgressStream } from './progress-reporter.js';

/** What a CLI command reads and writes: its output streams and working directory. */
export interface CliIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  /** Module paths and `new <dir>` are resolved against it. */
  readonly cwd: string;
}
