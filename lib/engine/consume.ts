import { Observable } from 'rxjs';
import { ConnectorContractError, DelayedReleaseUnsupportedError } from '../core/errors.js';
import type { Connector } from '../core/connector.js';
import type { Outcome } from '../core/outcome.js';
import { consumerPolicy, type ConsumerPolicyInput } from '../policy/consumer-policy.js';
import { ConsumeLoop } from './internal/consume-loop.js';
import { EngineClock } from './internal/engine-clock.js';
import { connectorName } from './internal/lifecycle-pool.js';
import type { EngineOptions } from './engine-options.js';
import {
  requireConsumerTask,
  requireKeyForKeyPolicy,
  type ConsumerTask,
} from './task-definition.js';

/** Options of {@link consume}. */
export interface ConsumeOptions extends EngineOptions {
  /**
   * Graceful stop: on its first value the loop stops fetching, releases what it fetched but
   * did not start, lets in-flight work drain for `loop.shutdownGrace` ms, cancels and
   * releases the rest, then completes.
   */
  readonly stop$?: Observable<unknown>;
}

/**
 * The pull-driven consumer loop: fetches from `connector` only when it has free capacity,
 * runs each transaction through `task`'s lifecycle under `policy`, settles it on the
 * connector (ack, dead-letter or release) and emits its one {@link Outcome} after the
 * settlement finished. Cold: each subscription is one run.
 *
 * - `batch` mode: fetch `fetch.batch.size`, process with `loop.concurrency.value`, wait for
 *   the whole batch (barrier), fetch again.
 * - `continuous` mode: whenever slots are free, fetch exactly that many (clamped, so a
 *   connector that over-returns never pushes in-flight work above the limit).
 * - Non-streaming loops complete at the first empty fetch once idle; streaming loops back
 *   off (`fetch.empty`) between empty fetches and reset after work.
 * - `loop.limit` caps fetched transactions (a fetch never asks for more than remains);
 *   `loop.timeout` cancels and releases in-flight work and errors with `LoopTimeoutError`;
 *   a fetch that fails after `fetch.retry` drains in-flight work, then errors with `FetchError`.
 * - Unsubscribing is the hard stop: in-flight work is cancelled (signals abort) and released.
 * - A handler that throws `RetryLaterError` releases its transaction with the delay (the
 *   connector holds it back, the slot is free at once); `DeadLetterError` dead-letters it.
 *
 * ```
 * connector:  fetch(4)→[a b c d]        fetch(2)→[e f]      fetch(2)→[]
 * consume:    ----a--b---c--d-----------e--f---|        (continuous, concurrency 4)
 * ```
 *
 * @example
 * ```ts
 * const connector = new MemoryConnector({ source: orders });
 * const task = consumerTask({ process: (tx: Transaction<Order>) => ship(tx.payload) });
 * consume(connector, task, { loop: { mode: 'continuous', concurrency: { value: 32 } } })
 *   .subscribe((outcome) => console.log(outcome.transaction.id, outcome.status));
 * ```
 */
export function consume<P, R, S>(
  connector: Connector<P>,
  task: ConsumerTask<P, R, S>,
  policy?: ConsumerPolicyInput,
  options: ConsumeOptions = {},
): Observable<Outcome<P, R>> {
  if (typeof (connector as Partial<Connector<P>> | null)?.fetch !== 'function') {
    throw new ConnectorContractError('consume expects a connector with a fetch(request) method');
  }
  requireConsumerTask(task, 'consume');
  const decoded = consumerPolicy(policy);
  requireKeyForKeyPolicy(task, decoded, 'consume');
  const durableAfter = decoded.process.retry.durableAfter;
  if (
    durableAfter !== null &&
    typeof connector.settle === 'function' &&
    connector.scheduling?.delayedRelease !== true
  ) {
    throw new DelayedReleaseUnsupportedError(
      `consume: process.retry.durableAfter (${durableAfter} ms) releases transactions with a delay, but ${connectorName(connector)} cannot hold them back (its scheduling.delayedRelease is not true); remove durableAfter, or use a connector that can (docs/scheduling.md)`,
    );
  }
  return new Observable<Outcome<P, R>>((subscriber) => {
    const loop = new ConsumeLoop<P, R>(
      connector,
      task,
      decoded,
      new EngineClock(options.scheduler),
      subscriber,
      options.traces,
    );
    subscriber.add(() => loop.teardown());
    loop.run(options.stop$);
  });
}
