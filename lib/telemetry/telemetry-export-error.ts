import { describeError } from '../core/renderers.js';
import { ErgonError } from '../core/errors.js';

/**
 * Flushing or shutting down telemetry did not fully succeed: some exporter, reader, processor
 * or log sink failed. Everything else was still flushed or shut down; `failures` holds what
 * each failing part threw.
 *
 * @example
 * ```ts
 * try {
 *   await telemetry.shutdown();
 * } catch (error) {
 *   if (error instanceof TelemetryExportError) console.error(error.message);
 * }
 * ```
 */
export class TelemetryExportError extends ErgonError {
  constructor(
    readonly operation: 'flush' | 'shutdown',
    readonly failures: readonly unknown[],
  ) {
    super(`telemetry ${operation} failed: ${failures.map(describeError).join('; ')}`, {
      cause: failures[0],
    });
  }
}
