import { PolicyError, type PolicyIssue } from '../../core/errors.js';
import {
  matchKeyword,
  parseBoolean,
  parseNumber,
  parseTcpPort,
} from '../../policy/codecs/values.js';
import { renderValue } from '../../core/renderers.js';
import { OTLP_ENDPOINT_EXPECTED, otlpEndpointUrl } from './otlp-endpoint.js';
import type { TelemetryConfigInput } from './telemetry-config.js';

/** The environment variables to read (`process.env`, or a test's own). */
export type Environment = Readonly<Record<string, string | undefined>>;

type Signal = 'TRACES' | 'METRICS' | 'LOGS';

const samplerNames: Readonly<Record<string, string>> = {
  always_on: 'always_on',
  always_off: 'always_off',
  traceidratio: 'ratio',
  ratio: 'ratio',
  parentbased_always_on: 'parentbased_always_on',
  parentbased_always_off: 'parentbased_always_off',
  parentbased_traceidratio: 'parentbased_ratio',
  parentbased_ratio: 'parentbased_ratio',
};

/**
 * Reads the standard OpenTelemetry variables into a telemetry configuration input (only the
 * keys the environment sets):
 *
 * - `OTEL_SDK_DISABLED=true`: no tracer or meter provider, no OTLP logs.
 * - `OTEL_SERVICE_NAME` → `resource.serviceName`.
 * - `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`, comma-separated) → `traces.exporters`;
 *   `OTEL_METRICS_EXPORTER` (`otlp`, `console`, `prometheus`, `none`) → `metrics.readers`;
 *   `OTEL_LOGS_EXPORTER` containing `otlp` adds an OTLP sink next to the console.
 *   A signal without its `*_EXPORTER` variable exports over OTLP when an endpoint is set
 *   (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`), else not at all.
 * - `OTEL_TRACES_SAMPLER` (`always_on`, `always_off`, `traceidratio`, `parentbased_always_on`,
 *   `parentbased_always_off`, `parentbased_traceidratio`) and `OTEL_TRACES_SAMPLER_ARG` (the ratio).
 * - `OTEL_METRIC_EXPORT_INTERVAL` (ms) → `metrics.interval`.
 *
 * Endpoints, headers, timeouts, TLS, batch sizes, `OTEL_RESOURCE_ATTRIBUTES` and the
 * Prometheus host and port are read by the OpenTelemetry components themselves; the endpoints
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`) and
 * `OTEL_EXPORTER_PROMETHEUS_PORT` are checked here first, so a value they could not use is a
 * configuration error naming the variable rather than a `TypeError` or a silent default.
 *
 * @example
 * ```ts
 * telemetryInputFromEnvironment({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' });
 * // { traces: { exporters: ['otlp'], sampler: { type: 'ratio', ratio: 0.1 } } }
 * ```
 * @throws PolicyError naming each variable with a value it cannot use.
 */
export function telemetryInputFromEnvironment(env: Environment): TelemetryConfigInput {
  const issues: PolicyIssue[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const complain = (name: string, expected: string): void => {
    issues.push({ path: name, expected, actual: renderValue(env[name]) });
  };
  const exportersOf = (signal: Signal, allowed: readonly string[]): string[] | undefined => {
    const name = `OTEL_${signal}_EXPORTER`;
    const value = read(name);
    if (value === undefined) {
      const endpoint =
        read(`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`) ?? read('OTEL_EXPORTER_OTLP_ENDPOINT');
      return endpoint === undefined ? undefined : ['otlp'];
    }
    const names = [
      ...new Set(
        value
          .toLowerCase()
          .split(',')
          .map((part) => part.trim()),
      ),
    ];
    const unknown = names.filter((part) => part !== 'none' && !allowed.includes(part));
    if (unknown.length > 0) {
      complain(name, `comma-separated list of ${[...allowed, 'none'].join(', ')}`);
      return undefined;
    }
    return names.filter((part) => part !== 'none' && part !== '');
  };

  for (const signal of ['', 'TRACES_', 'METRICS_', 'LOGS_']) {
    const name = `OTEL_EXPORTER_OTLP_${signal}ENDPOINT`;
    const value = read(name);
    if (value !== undefined && otlpEndpointUrl(value) === undefined) {
      complain(name, OTLP_ENDPOINT_EXPECTED);
    }
  }
  const prometheusPort = read('OTEL_EXPORTER_PROMETHEUS_PORT');
  if (prometheusPort !== undefined && parseTcpPort(prometheusPort, 1) === undefined) {
    complain('OTEL_EXPORTER_PROMETHEUS_PORT', 'TCP port (1-65535)');
  }

  let disabled = false;
  const disabledText = read('OTEL_SDK_DISABLED');
  if (disabledText !== undefined) {
    const flag = parseBoolean(disabledText);
    if (flag === undefined) complain('OTEL_SDK_DISABLED', 'true or false');
    disabled = flag === true;
  }

  const resource: Record<string, unknown> = {};
  const serviceName = read('OTEL_SERVICE_NAME');
  if (serviceName !== undefined) resource['serviceName'] = serviceName;

  const traces: Record<string, unknown> = {};
  if (disabled) traces['enabled'] = false;
  const spanExporters = exportersOf('TRACES', ['otlp', 'console']);
  if (spanExporters !== undefined) traces['exporters'] = spanExporters;
  const samplerText = read('OTEL_TRACES_SAMPLER');
  if (samplerText !== undefined) {
    const type = matchKeyword(samplerText, [], samplerNames);
    if (type === undefined) {
      complain('OTEL_TRACES_SAMPLER', `one of ${Object.keys(samplerNames).join(', ')}`);
    } else if (type.endsWith('ratio')) {
      const argument = read('OTEL_TRACES_SAMPLER_ARG');
      const ratio = argument === undefined ? 1 : parseNumber(argument);
      if (ratio === undefined || ratio < 0 || ratio > 1) {
        complain('OTEL_TRACES_SAMPLER_ARG', 'number from 0 to 1');
      } else {
        traces['sampler'] = { type, ratio };
      }
    } else {
      traces['sampler'] = type;
    }
  }

  const metrics: Record<string, unknown> = {};
  if (disabled) metrics['enabled'] = false;
  const readers = exportersOf('METRICS', ['otlp', 'console', 'prometheus']);
  if (readers !== undefined) metrics['readers'] = readers;
  const intervalText = read('OTEL_METRIC_EXPORT_INTERVAL');
  if (intervalText !== undefined) {
    const interval = parseNumber(intervalText);
    if (interval === undefined || !Number.isInteger(interval) || interval <= 0) {
      complain('OTEL_METRIC_EXPORT_INTERVAL', 'positive integer (milliseconds)');
    } else {
      metrics['interval'] = interval;
    }
  }

  const logs: Record<string, unknown> = {};
  const logExporters = exportersOf('LOGS', ['otlp', 'console']);
  if (!disabled && logExporters?.includes('otlp') === true) logs['sinks'] = ['console', 'otlp'];

  if (issues.length > 0) throw new PolicyError('telemetry environment variables', issues);
  const input: Record<string, unknown> = {};
  for (const [key, section] of Object.entries({ resource, traces, metrics, logs })) {
    if (Object.keys(section).length > 0) input[key] = section;
  }
  return input;
}
