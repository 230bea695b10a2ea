import { ErgonError } from '../core/errors.js';

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
