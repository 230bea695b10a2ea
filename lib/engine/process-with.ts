import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { FifoQueue } from '../core/fifo-queue.js';
import type { Outcome } from '../core/outcome.js';
import type { Transaction } from '../core/transaction.js';
import { consumerPolicy, type ConsumerPolicyInput } from '../policy/consumer-policy.js';
import type { ConsumerTask } from './task-definition.js';
import { EngineClock } from './internal/engine-clock.js';
import type { EngineOptions } from './engine-options.js';
import { RunTelemetry } from './internal/instrumentation/run-telemetry.js';
import { LifecyclePool, type PoolListener } from './internal/lifecycle-pool.js';
import { requireConsumerTask } from './task-definition.js';
import { consumerPlan } from './internal/task-plan.js';
import { Trampoline } from './internal/trampoline.js';

/**
 * Runs every transaction of the source through `task`'s lifecycle with at most
 * `loop.concurrency.value` in flight, emitting one {@link Outcome} per transaction as each
 * finishes. Uses the stage retry policies and `transactionRuntime.timeout` of `policy`;
 * fetching, limits and settlement belong to {@link consume}.
 *
 * A push source can outrun the handlers: values beyond the concurrency wait in an internal
 * queue (use {@link consume} with a connector for bounded memory). When the source errors,
 * what it already emitted is finished first, then the error is forwarded. Unsubscribing
 * cancels in-flight lifecycles (their signals abort).
 *
 * ```
 * source:   -a-b-c-------|
 * process:  each takes 4 frames, concurrency 2
 * result:   -----a-b---c-|
 * ```
 *
 * @example
 * ```ts
 * fromEvent(emitter, 'order').pipe(
 *   map((order) => createTransaction(order)),
 *   processWith(task, { loop: { concurrency: { value: 8 } } }),
 *   filter((outcome) => outcome.status !== 'success'),
 * ).subscribe(alert);
 * ```
 */
export function processWith<P, R, S>(
  task: ConsumerTask<P, R, S>,
  policy?: ConsumerPolicyInput,
  options: EngineOptions = {},
): OperatorFunction<Transaction<P>, Outcome<P, R>> {
  requireConsumerTask(task, 'processWith');
  const decoded = consumerPolicy(policy);
  const concurrency = decoded.loop.concurrency.value;
  const plan = consumerPlan(task as ConsumerTask<P, R, unknown>, decoded);
  return (source) =>
    new Observable<Outcome<P, R>>((subscriber) => {
      const clock = new EngineClock(options.scheduler);
      const waiting = new FifoQueue<Transaction<P>>();
      let sourceDone = false;
      let sourceError: { error: unknown } | null = null;
      const trampoline = new Trampoline(() => {
        while (!subscriber.closed && waiting.length > 0 && pool.inFlight < concurrency) {
          pool.start(waiting.shift() as Transaction<P>);
        }
        if (sourceDone && pool.inFlight === 0 && waiting.length === 0 && !subscriber.closed) {
          clock.dispose();
          telemetry.end(sourceError === null ? undefined : sourceError.error);
          if (sourceError === null) subscriber.complete();
          else subscriber.error(sourceError.error);
        }
      });
      const pump = (): void => trampoline.run();
      const listener: PoolListener<P, R> = {
        outcome: (outcome) => {
          trampoline.hold();
          try {
            subscriber.next(outcome);
          } finally {
            trampoline.release();
          }
        },
        freed: pump,
      };
      const telemetry = new RunTelemetry(
        'consumer',
        task.name,
        {},
        {
          traces: options.traces,
        },
      );
      const pool = new LifecyclePool<P, R>(plan, clock, telemetry, null, listener);
      let subscription: Subscription | null = null;
      subscriber.add(() => {
        subscription?.unsubscribe();
        waiting.drain();
        pool.cancelAll('unsubscribe');
        clock.dispose();
        telemetry.end();
      });
      subscription = source.subscribe({
        next: (transaction) => {
          if (subscriber.closed) return;
          waiting.push(transaction);
          pump();
        },
        error: (error: unknown) => {
          sourceDone = true;
          sourceError = { error };
          pump();
        },
        complete: () => {
          sourceDone = true;
          pump();
        },
      });
      if (subscriber.closed) subscription.unsubscribe();
    });
}
