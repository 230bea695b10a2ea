import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
  type Resource,
} from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ResourceConfig } from './config/telemetry-config.js';

/** `host.name` and `process.pid` (incubating semantic conventions, copied rather than imported). */
const ATTR_HOST_NAME = 'host.name';
const ATTR_PROCESS_PID = 'process.pid';

/**
 * The OpenTelemetry resource of this process: OpenTelemetry's defaults, then
 * `OTEL_RESOURCE_ATTRIBUTES`/`OTEL_SERVICE_NAME`, then your `attributes` and `serviceName`, then
 * ergon's own keys, which win: `ergon.task.name`, `ergon.task.execution.id` (one UUID per
 * process), `ergon.task.execution.pid`, `ergon.task.execution.host.name` (the Python
 * reference's names), `host.name` and `process.pid`.
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
        [ATTR_HOST_NAME]: host,
        [ATTR_PROCESS_PID]: process.pid,
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
