import type { Connector } from '../../core/connector.js';
import { getLogger } from '../../telemetry/logging/get-logger.js';
import type { TaskDefinition } from '../define-task.js';
import { awaitEventually } from '../../core/connector.js';

/** A connector of a task as a tool builds it outside the run (`init` and `close` optional). */
export type TaskConnector = Connector & { init?: () => unknown; close?: () => unknown };

/**
 * Builds connector `name` of `definition` with its factory, outside any run — as worker 0 of
 * 1, the way `ergon dlq`, `ergon process-by-id` and the dashboard of a worker pool's primary
 * use it — and awaits its optional `init()`. `signal` is the factory's `context.signal`
 * (abort it when the connector is no longer wanted). A connector whose `init()` failed is
 * closed before the error is thrown.
 *
 * @example
 * ```ts
 * const connector = await openTaskConnector(definition, 'orders', abort.signal);
 * try { await use(connector); } finally { await closeTaskConnector(connector); }
 * ```
 */
export async function openTaskConnector(
  definition: Pick<TaskDefinition, 'name' | 'connectors' | 'policies'>,
  name: string,
  signal: AbortSignal,
): Promise<TaskConnector> {
  const factory = definition.connectors[name] as (typeof definition.connectors)[string];
  const connector = (await factory({
    name: definition.name,
    workerId: 0,
    workers: 1,
    policies: definition.policies,
    logger: getLogger(definition.name),
    signal,
  })) as TaskConnector;
  try {
    if (typeof connector.init === 'function') await awaitEventually(connector.init());
  } catch (error) {
    await closeTaskConnector(connector).catch(() => undefined);
    throw error;
  }
  return connector;
}

/** Awaits `connector.close()` when it has one (its failure is the caller's to report). */
export async function closeTaskConnector(connector: TaskConnector): Promise<void> {
  if (typeof connector.close === 'function') await awaitEventually(connector.close());
}
