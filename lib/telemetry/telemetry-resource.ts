import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
  type Resource,
} from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { randomUUID } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { ResourceConfig } from './config/telemetry-config.js';

/**
 * `host.name`, `host.ip`, `process.pid` and `process.creation.time` (incubating semantic
 * conventions, copied rather than imported).
 */
const ATTR_HOST_NAME = 'host.name';
const ATTR_HOST_IP = 'host.ip';
const ATTR_PROCESS_PID = 'process.pid';
const ATTR_PROCESS_CREATION_TIME = 'process.creation.time';

/**
 * The OpenTelemetry resource of this process: OpenTelemetry's defaults, then
 * `OTEL_RESOURCE_ATTRIBUTES`/`OTEL_SERVICE_NAME`, then your `attributes` and `serviceName`, then
 * ergon's own keys, which win: `ergon.task.name`, `ergon.task.execution.id` (one UUID per
 * process), `ergon.task.execution.pid`, `ergon.task.execution.host.name`,
 * `ergon.task.execution.host.ip` (the first external IPv4 address, else IPv6, else
 * `127.0.0.1`), `ergon.task.execution.start_time` (when the process started, ISO 8601 in UTC)
 * (the Python reference's names), and the semantic conventions' `host.name`, `host.ip` (every
 * external address), `process.pid` and `process.creation.time`.
 *
 * @example
 * ```ts
 * telemetryResource({ serviceName: 'shop', taskName: 'orders', attributes: {} }).attributes['ergon.task.name']; // 'orders'
 * ```
 */
export function telemetryResource(config: ResourceConfig): Resource {
  const fromEnvironment = detectResources({ detectors: [envDetector] });
  const named =
    fromEnvironment.attributes[ATTR_SERVICE_NAME] !== undefined ||
    config.attributes[ATTR_SERVICE_NAME] !== undefined;
  const serviceName = config.serviceName ?? (named ? null : config.taskName);
  const host = hostname();
  const addresses = hostAddresses();
  const started = processStartTime();
  return defaultResource()
    .merge(fromEnvironment)
    .merge(resourceFromAttributes(config.attributes))
    .merge(
      resourceFromAttributes({
        ...(serviceName === null ? {} : { [ATTR_SERVICE_NAME]: serviceName }),
        ...(config.taskName === null ? {} : { 'ergon.task.name': config.taskName }),
        'ergon.task.execution.id': processExecutionId(),
        'ergon.task.execution.pid': process.pid,
        'ergon.task.execution.host.name': host,
        'ergon.task.execution.host.ip': addresses[0] ?? '127.0.0.1',
        'ergon.task.execution.start_time': started,
        [ATTR_HOST_NAME]: host,
        ...(addresses.length === 0 ? {} : { [ATTR_HOST_IP]: addresses }),
        [ATTR_PROCESS_PID]: process.pid,
        [ATTR_PROCESS_CREATION_TIME]: started,
      }),
    );
}

let executionId: string | undefined;

/**
 * The id of this process's run, a random UUID drawn on first use and the same for the life of
 * the process. Exported as the resource attribute `ergon.task.execution.id`, so every span,
 * metric and log of one run can be found together.
 *
 * @example
 * ```ts
 * processExecutionId(); // '9b2c7f0e-…', the same on every call
 * ```
 */
export function processExecutionId(): string {
  executionId ??= randomUUID();
  return executionId;
}

/**
 * The host's external (not loopback) IP addresses, IPv4 first, each once, from the network
 * interfaces (no lookup, no socket).
 */
function hostAddresses(): string[] {
  const external = Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => !entry.internal);
  const ordered = [
    ...external.filter((entry) => entry.family === 'IPv4'),
    ...external.filter((entry) => entry.family === 'IPv6'),
  ];
  return [...new Set(ordered.map((entry) => entry.address))];
}

/** When this process started (its `performance.timeOrigin`), ISO 8601 in UTC. */
function processStartTime(): string {
  return new Date(performance.timeOrigin).toISOString();
}
