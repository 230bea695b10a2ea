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

/**
 * `setupTelemetry` could not install its providers because OpenTelemetry already has global
 * ones: telemetry is already set up (shut the previous handle down first) or the application
 * registered its own SDK. Nothing was left registered by the failed call.
 *
 * @example
 * ```ts
 * const first = setupTelemetry();
 * setupTelemetry(); // throws TelemetrySetupError: the tracer provider is already registered
 * await first.shutdown();
 * setupTelemetry(); // fine
 * ```
 */
export class TelemetrySetupError extends ErgonError {}

/**
 * Runs `steps` one after another, each whatever the others did, and rejects with a
 * {@link TelemetryExportError} listing the failures if any step failed.
 *
 * @example
 * ```ts
 * await settleAll('shutdown', [() => tracerProvider.shutdown(), () => meterProvider.shutdown()]);
 * ```
 */
export async function settleAll(
  operation: 'flush' | 'shutdown',
  steps: readonly (() => Promise<void> | void)[],
): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      if (error instanceof TelemetryExportError) failures.push(...error.failures);
      else failures.push(error);
    }
  }
  if (failures.length > 0) throw new TelemetryExportError(operation, failures);
}
