import type { Logger } from '../core/logger.js';
import { EscapedError, type EscapeRoute } from './escaped-error.js';
import type { ShutdownSignals } from './shutdown-signals.js';

/**
 * Listens to `unhandledRejection` and `uncaughtException` on `process` for the length of a
 * run: each escaped error is logged with its stack, and the first one stops the run
 * gracefully (see {@link ShutdownSignals.fail}) so that in-flight transactions drain or are
 * released instead of dying with the process. Returns the function that stops listening.
 */
export function guardEscapedErrors(shutdown: ShutdownSignals, log: Logger): () => void {
  const escaped = (route: EscapeRoute, cause: unknown): void => {
    const error = new EscapedError(route, cause);
    const next = shutdown.stopped
      ? 'the run is already stopping'
      : 'stopping the run: in-flight work drains, the rest is released, then exit code 1';
    log.error(`${error.message}; ${next}`, cause);
    shutdown.fail(error);
  };
  const onRejection = (reason: unknown): void => escaped('unhandledRejection', reason);
  const onException = (error: unknown): void => escaped('uncaughtException', error);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
