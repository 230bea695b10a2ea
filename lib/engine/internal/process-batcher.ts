import type { Context } from '@opentelemetry/api';
import { timer, type Subscription } from 'rxjs';
import type { Eventually } from '../../core/connector.js';
import { CancellationError } from '../../core/errors.js';
import { describeValue } from '../../core/renderers.js';
import { readProperty } from '../../core/safe-access.js';
import type { Transaction } from '../../core/transaction.js';
import type { RetryPolicy } from '../../policy/retry-policy.js';
import type { AttemptContext, HandlerContext, HandlerScope } from '../handler-context.js';
import { BatchResultError } from '../errors.js';
import type { BatchItemResult } from '../task-definition.js';
import type { EngineClock } from './engine-clock.js';
import type { RunTelemetry } from './instrumentation/run-telemetry.js';
import { processBatchTelemetry } from './instrumentation/stage-telemetry.js';
import { firstAttemptOf, isHandBack, StageRun, type StageOwner } from './stage-run.js';
import type { Downstream } from './flow-gates.js';
import { objectArray } from '../../core/object-array.js';

/** A lifecycle whose process stage runs in a batch. */
export interface BatchMember<P> {
  readonly transaction: Transaction<P>;
  /** The transaction's telemetry context, when telemetry is on. */
  readonly context: Context | null;
  /** Its item of the batch succeeded with `value`. */
  batchSucceeded(value: unknown): void;
  /** Its item failed, or the batch failed for it (after retries and splitting). */
  batchFailed(error: unknown): void;
}

/** A task's `processBatch`, as the batcher calls it. */
export type BatchHandler<P> = (
  transactions: readonly Transaction<P>[],
  context: HandlerContext,
) => Eventually<readonly BatchItemResult<unknown>[]>;

/** How batches form and run: `process.batch` and `process.retry` of a consumer policy. */
export interface BatcherSettings {
  /** Most transactions per call. */
  readonly size: number;
  /** How long a partial batch waits for more, in milliseconds. */
  readonly maxWait: number;
  readonly retry: RetryPolicy;
  /** The run's pause for a rate-limiting downstream (a refused call waits for it). */
  readonly downstream: Downstream | null;
}

/**
 * Gathers the lifecycles that reach their process stage into batches of `size` (or whatever
 * joined within `maxWait` of the first), and runs each through `processBatch` under the
 * process retry policy. A batch that still fails after its retries is split in halves, each
 * retried again, down to single transactions, so that only the transactions that fail on
 * their own reach their exception stage. A member that leaves (its budget ran out, its run
 * was cancelled) is dropped from its batch; a batch left by every member is cancelled
 * (its signal aborts).
 */
export class ProcessBatcher<P> {
  private forming: BatchMember<P>[] = objectArray();
  private wait: Subscription | null = null;
  /** Which running batch holds each member that is not forming. */
  private readonly running = new Map<BatchMember<P>, BatchRun<P>>();

  constructor(
    private readonly handler: BatchHandler<P>,
    private readonly settings: BatcherSettings,
    private readonly clock: EngineClock,
    private readonly scope: HandlerScope<unknown>,
    private readonly telemetry: RunTelemetry,
  ) {}

  join(member: BatchMember<P>): void {
    this.forming.push(member);
    if (this.forming.length >= this.settings.size) this.flush();
    else if (this.forming.length === 1) {
      this.wait = timer(this.settings.maxWait, this.clock.scheduler).subscribe(() => {
        this.wait = null;
        this.flush();
      });
    }
  }

  /**
   * Takes a member out of its batch (its budget ran out, or its run is cancelling it). From a
   * forming batch it just goes. From a running call it cannot: `false`, and the member hears
   * the call's end as usual (it keeps its slot and key until then); once every member of a
   * call has left, the call is cancelled (its signal aborts) and all of them hear it now.
   */
  leave(member: BatchMember<P>): boolean {
    const index = this.forming.indexOf(member);
    if (index >= 0) {
      this.forming.splice(index, 1);
      if (this.forming.length === 0) this.disarm();
      return true;
    }
    const run = this.running.get(member);
    return run === undefined || run.leave(member);
  }

  /** Sends the forming batch now, however small. */
  flush(): void {
    this.disarm();
    if (this.forming.length === 0) return;
    const members = this.forming;
    this.forming = objectArray();
    this.start(members);
  }

  /** Stops the maxWait timer (the run ended; its members were cancelled). */
  dispose(): void {
    this.disarm();
  }

  /** Starts a batch: a new one, or a half of one that failed. */
  start(members: BatchMember<P>[]): void {
    const run = new BatchRun(this, members);
    for (const member of members) this.running.set(member, run);
    run.start(this.clock, this.settings, this.scope, this.telemetry);
  }

  /** A batch is over for `member`. */
  release(member: BatchMember<P>): void {
    this.running.delete(member);
  }

  /** Calls `processBatch`. */
  call(
    transactions: readonly Transaction<P>[],
    context: AttemptContext,
  ): ReturnType<BatchHandler<P>> {
    return this.handler(transactions, context);
  }

  private disarm(): void {
    this.wait?.unsubscribe();
    this.wait = null;
  }
}

/** One batch on its way through `processBatch`, with its retries. */
class BatchRun<P> implements StageOwner<unknown> {
  private run: StageRun<unknown> | null = null;
  /** The members the current attempt was called with, in the order of its results. */
  private sent: BatchMember<P>[] = objectArray();
  /** Members that left while a call ran: they end with that call and join no retry. */
  private readonly left = new Set<BatchMember<P>>();

  constructor(
    private readonly batcher: ProcessBatcher<P>,
    private readonly members: BatchMember<P>[],
  ) {}

  start(
    clock: EngineClock,
    settings: BatcherSettings,
    scope: HandlerScope<unknown>,
    telemetry: RunTelemetry,
  ): void {
    const observer = telemetry.enabled
      ? processBatchTelemetry(
          telemetry,
          this.members.map((member) => member.context),
          this.members.length,
        )
      : null;
    this.run = new StageRun(
      clock,
      settings.retry,
      'process',
      scope,
      this,
      observer,
      settings.downstream,
    );
    // With durableAfter, the call goes on counting where its least-tried member stopped.
    let first = Infinity;
    for (const member of this.members) {
      first = Math.min(first, firstAttemptOf(settings.retry, member.transaction));
    }
    this.run.start(Number.isFinite(first) ? first : 1);
  }

  /** See {@link ProcessBatcher.leave}. */
  leave(member: BatchMember<P>): boolean {
    this.left.add(member);
    if (this.members.some((other) => !this.left.has(other))) return false;
    const cancelled = new CancellationError('unsubscribe');
    this.run?.cancel(cancelled);
    for (const other of this.members) {
      this.batcher.release(other);
      if (other !== member) other.batchFailed(cancelled);
    }
    return true;
  }

  invoke(context: AttemptContext): ReturnType<BatchHandler<P>> {
    // Who left during the previous attempt ends now, and is not called again.
    this.endLeft(new CancellationError('unsubscribe'));
    this.sent = this.members.filter((member) => !this.left.has(member));
    return this.batcher.call(
      this.sent.map((member) => member.transaction),
      context,
    );
  }

  succeeded(_run: StageRun<unknown>, value: unknown): void {
    const sent = this.sent;
    const problem = resultProblem(value, sent.length);
    if (problem !== null) {
      this.failAll(
        sent,
        new BatchResultError(
          `processBatch ${problem}; return an array with one { ok: true, value } or { ok: false, error } per transaction, in the order given`,
        ),
      );
      return;
    }
    const results = value as readonly unknown[];
    sent.forEach((member, index) => {
      this.batcher.release(member);
      const result = results[index];
      if (readProperty(result, 'ok') === true) member.batchSucceeded(readProperty(result, 'value'));
      else member.batchFailed(readProperty(result, 'error'));
    });
  }

  failed(_run: StageRun<unknown>, error: unknown): void {
    this.endLeft(error);
    const live = this.sent.filter((member) => !this.left.has(member));
    if (live.length <= 1 || isHandBack(error)) {
      // A retry-later or dead letter of the whole call applies to every transaction of it.
      this.failAll(live, error);
      return;
    }
    // Isolate what fails: each half is tried again on its own.
    for (const member of live) this.batcher.release(member);
    const half = Math.ceil(live.length / 2);
    this.batcher.start(live.slice(0, half));
    this.batcher.start(live.slice(half));
  }

  /** Ends the members of the last call that left meanwhile (each reports its own timeout). */
  private endLeft(error: unknown): void {
    for (const member of this.sent) {
      if (this.left.has(member)) {
        this.batcher.release(member);
        member.batchFailed(error);
      }
    }
  }

  private failAll(members: readonly BatchMember<P>[], error: unknown): void {
    for (const member of members) {
      this.batcher.release(member);
      member.batchFailed(error);
    }
  }
}

/** What is wrong with a `processBatch` result for `count` transactions, or `null`. */
function resultProblem(value: unknown, count: number): string | null {
  if (!Array.isArray(value)) return `returned ${describeValue(value)}, not an array`;
  if (value.length !== count) {
    return `returned ${value.length} results for ${count} transactions`;
  }
  for (let index = 0; index < value.length; index++) {
    const ok = readProperty(value[index], 'ok');
    if (ok !== true && ok !== false) {
      return `returned ${describeValue(value[index])} at index ${index}, not { ok: true | false, … }`;
    }
  }
  return null;
}
