import { take, type OperatorFunction } from 'rxjs';
import type { Outcome } from '../core/outcome.js';
import type { Transaction } from '../core/transaction.js';
import type { Connector } from '../core/connector.js';
import { producerPolicy, type ProducerPolicyInput } from '../policy/producer-policy.js';
import { EngineClock } from './internal/engine-clock.js';
import type { EngineOptions } from './engine-options.js';
import { engineOperator } from './internal/engine-run.js';
import { ProduceRun } from './internal/produce-run.js';
import { requireProducerTask, type ProducerTask } from './task-definition.js';
import { requireDispatch } from './internal/batch-dispatcher.js';

/**
 * Produces the source's transactions (or payloads, wrapped with `createTransaction`) to
 * `connector`: each is prepared by `task.prepare` with at most `loop.concurrency.value` in
 * flight and its own retry policy, then dispatched in batches of `loop.batch.size` (or what
 * was prepared within `loop.batch.maxWait`), at most `dispatch.concurrency.value` batches at
 * once, each under `dispatch.retry`. Emits one {@link Outcome} per input once its dispatch
 * (and `onSuccess`) finished: `success` with the dispatched transaction as `result`, or
 * `exception`/`failed`/`timeout` when prepare, the dispatch of its batch (after every retry,
 * or a partial failure the connector reported for it) or onSuccess failed.
 *
 * Backpressure: a prepared transaction keeps its prepare slot until the dispatcher has room
 * for it, so memory stays bounded by concurrency and batch sizes; a push source that outruns
 * the connector waits in an internal queue. `loop.limit` takes the first N inputs;
 * `loop.timeout` cancels and releases what is unfinished (no batch starts after it; a batch
 * being sent is aborted through its signal and waited for, and what the destination took is
 * never reported `released`), then errors with `LoopTimeoutError`; a source error is
 * forwarded once everything taken is finished. A timed-out dispatch attempt is aborted and
 * waited for before its retry, keeping its `dispatch.concurrency` slot.
 *
 * ```
 * source:   -a-b-c-d-e-|               batch 2, maxWait 10, prepare takes 1 frame
 * dispatch:  ----[ab]-[cd]-[e]          (e is flushed when the source completes)
 * produce:  -----a(b)--c(d)--(e|)
 * ```
 *
 * @example
 * ```ts
 * from(readOrders()).pipe(
 *   produce(queue, producerTask({ prepare: (tx: Transaction<Order>) => toMessage(tx.payload) }), {
 *     loop: { concurrency: { value: 16 }, batch: { size: 200, maxWait: '20ms' } },
 *     dispatch: { retry: { maxAttempts: 5, backoff: '100ms', backoffCap: '5s' } },
 *   }),
 * ).subscribe((outcome) => outcome.status !== 'success' && console.warn(outcome));
 * ```
 */
export function produce<P, O, S>(
  connector: Connector<O>,
  task: ProducerTask<P, O, S>,
  policy?: ProducerPolicyInput,
  options: EngineOptions = {},
): OperatorFunction<Transaction<P> | P, Outcome<P, Transaction<O>>> {
  requireDispatch(connector, 'produce');
  requireProducerTask(task, 'produce');
  const decoded = producerPolicy(policy);
  const limit = decoded.loop.limit;
  const operator = engineOperator<Transaction<P> | P, Outcome<P, Transaction<O>>>(
    (subscriber, stopIntake) =>
      new ProduceRun<P, O>(
        connector,
        task,
        decoded,
        new EngineClock(options.scheduler),
        subscriber,
        stopIntake,
        options.traces,
      ),
  );
  return limit === null ? operator : (source) => operator(source.pipe(take(limit)));
}
