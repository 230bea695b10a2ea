import { TelemetryExportError } from './telemetry-export-error.js';

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
