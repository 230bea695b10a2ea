export { CliUsageError } from './cli-usage-error.js';
export type { CliIo } from './cli-io.js';
export type { Command } from './command.js';
export { findConsumer } from './find-consumer.js';
export { commands, runCli } from './run-cli.js';
export {
  ProgressReporter,
  reportProgress,
  type ProgressReporterOptions,
  type ProgressStream,
  type ProgressSummary,
} from './progress-reporter.js';
export { TaskModuleError } from './task-module-error.js';
