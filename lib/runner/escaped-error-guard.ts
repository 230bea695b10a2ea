import type { Logger } from '../core/logging.js';
import { EscapedError, type EscapeRoute } from './escaped-error.js';
import type { ShutdownSignals } from './shutdown-signals.js';

/** Escaped errors logged per run; a flood past this is counted, not written. */
export const MAX_LOGGED_ESCAPES = 10;

/**
 * Listens to `unhandledRejection` and `uncaughtException` on `process` for the length of a
 * run: each escaped error is logged with its stack (the first {@link MAX_LOGGED_ESCAPES}), and
 * the first one stops the run gracefully (see {@link ShutdownSignals.fail}) so that in-flight
 * transactions drain or are released instead of dying with the process.
 *
 * Write errors on the process's own stdout and stderr (`EPIPE` once the reader went away) are
 * ignored meanwhile: they are not the task's errors, and logging them to the broken stream would
 * raise them again, for ever. Returns the function that stops listening.
 */
export function guardEscapedErrors(shutdown: ShutdownSignals, log: Logger): () => void {
  let logged = 0;
  const escaped = (route: EscapeRoute, cause: unknown): void => {
    const error = new EscapedError(route, cause);
    if (logged < MAX_LOGGED_ESCAPES) {
      logged++;
      const next = shutdown.stopped
        ? 'the run is already stopping'
        : 'stopping the run: in-flight work drains, the rest is released, then exit code 1';
      const more = logged === MAX_LOGGED_ESCAPES ? '; further escaped errors are not logged' : '';
      log.error(`${error.message}; ${next}${more}`, cause);
    }
    shutdown.fail(error);
  };
  const onRejection = (reason: unknown): void => escaped('unhandledRejection', reason);
  const onException = (error: unknown): void => escaped('uncaughtException', error);
  const onStdioError = (): void => undefined;
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  process.stdout.on('error', onStdioError);
  process.stderr.on('error', onStdioError);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    process.stdout.off('error', onStdioError);
    process.stderr.off('error', onStdioError);
  };
}
