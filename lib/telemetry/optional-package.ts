import { createRequire } from 'node:module';
import type * as OtlpLogExporterPackage from '@opentelemetry/exporter-logs-otlp-grpc';
import type * as PrometheusExporterPackage from '@opentelemetry/exporter-prometheus';
import { TelemetrySetupError } from './telemetry-errors.js';

/**
 * The telemetry packages ergon-rx does not install with itself (optional peer dependencies),
 * by name, with the version it is built and tested against. Everything else the telemetry
 * entry point needs (tracing and metrics to the console and OTLP gRPC, logging) is a regular
 * dependency.
 */
export const optionalTelemetryPackages = {
  '@opentelemetry/exporter-prometheus': '0.223.0',
  '@opentelemetry/exporter-logs-otlp-grpc': '0.223.0',
} as const;

/** The name of an optional telemetry package. */
export type OptionalTelemetryPackage = keyof typeof optionalTelemetryPackages;

/** What each optional telemetry package exports (its types only: the package loads on demand). */
interface OptionalTelemetryModules {
  '@opentelemetry/exporter-prometheus': typeof PrometheusExporterPackage;
  '@opentelemetry/exporter-logs-otlp-grpc': typeof OtlpLogExporterPackage;
}

// The OpenTelemetry packages have no `exports` map: `import` reaches their CommonJS `main`
// too, so requiring one gives the same module instances the static imports share.
const requireFromHere = createRequire(import.meta.url);

function isMissing(error: unknown, name: string): boolean {
  return (
    error instanceof Error &&
    (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' &&
    error.message.includes(`'${name}'`)
  );
}

/**
 * Loads an optional telemetry package when a configuration asks for what it provides.
 *
 * @throws TelemetrySetupError naming the `npm install` to run when the package is missing.
 */
export function loadOptionalPackage<N extends OptionalTelemetryPackage>(
  name: N,
  feature: string,
): OptionalTelemetryModules[N] {
  try {
    return requireFromHere(name) as OptionalTelemetryModules[N];
  } catch (error) {
    if (!isMissing(error, name)) throw error;
    throw new TelemetrySetupError(
      `${feature} needs ${name}, which is not installed: run npm install ${name}@${optionalTelemetryPackages[name]}`,
      { cause: error },
    );
  }
}
