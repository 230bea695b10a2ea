export { CliUsageError, TaskModuleError } from './cli-errors.js';
export type { CliIo, Command } from './command.js';
export { commands, runCli } from './run-cli.js';
export {
  ProgressReporter,
  reportProgress,
  type ProgressReporterOptions,
  type ProgressStream,
  type ProgressSummary,
} from './progress-reporter.js';
