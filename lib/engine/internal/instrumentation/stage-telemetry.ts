import {
  context,
  SpanKind,
  trace,
  type Context,
  type Span,
  type Link,
  type Tracer,
} from '@opentelemetry/api';
import type { CancellationError, Stage } from '../../../core/errors.js';
import {
  failSpan,
  sampledUnder,
  tracerRegistered,
  type RunTelemetry,
  type TransactionTrace,
} from './run-telemetry.js';
import type { StageMetrics } from './metrics.js';

/** What a stage run reports about its attempts; see {@link StageTelemetry}. */
export interface StageObserver {
  /** An attempt starts; returns the context to enter around the handler. */
  attemptStarted(attempt: number): Context;
  /** The attempt ended: `error` is `undefined` on success. */
  attemptEnded(error: unknown): void;
  /** The attempt was cancelled from outside (stop, unsubscribe): not a failure of the handler. */
  attemptCancelled(reason: CancellationError): void;
  /** The stage ended after its last attempt (or was cancelled, `ok` false). */
  stageEnded(ok: boolean): void;
}

/**
 * The observer of one stage of a transaction: the transaction's own trace when there is
 * nothing to record per attempt (no span: tracing off or not sampled; no metrics), so such a
 * transaction makes no object per stage; otherwise a {@link StageTelemetry}.
 */
export function stageObserver(
  run: RunTelemetry,
  transaction: TransactionTrace,
  stage: Stage,
): StageObserver {
  return transaction.span === null && run.metrics === null
    ? transaction
    : new StageTelemetry(run, transaction, stage);
}

/** The name of a stage's attempt spans, made once. */
const attemptSpanNames: Readonly<Record<Stage, string>> = {
  fetch: 'fetch attempt',
  decode: 'decode attempt',
  process: 'process attempt',
  prepare: 'prepare attempt',
  dispatch: 'dispatch attempt',
  success: 'success attempt',
  exception: 'exception attempt',
  key: 'key attempt',
  attempt: 'attempt attempt',
};

/** How the attempt span of a batch differs from a transaction's. */
interface BatchSpanShape {
  readonly name: string;
  readonly links: Link[];
  readonly attributes: Readonly<Record<string, number>>;
}

/**
 * Telemetry of one lifecycle stage under a transaction: a span per attempt (`<stage>
 * attempt`, attribute `ergon.attempt`, ERROR with the exception when it failed), entered
 * around the handler so its own work and logs see it, plus the attempt and stage metrics.
 * Under a parent that is not sampled, no span: the handler runs in the parent's context.
 * With `attemptSpans: 'onFailure'` the stage's first attempt runs in the parent's context and
 * gets its span afterwards (started at the attempt's start) only when it did not succeed.
 */
export class StageTelemetry implements StageObserver {
  private span: Span | null = null;
  /**
   * The first attempt, running without a span (`attemptSpans: 'onFailure'`): its number and
   * start time (`performance.now()`, the clock the SDK times its own spans with, so the
   * recorded span and the handler's child spans line up), for the span recorded if it does
   * not succeed; 0 when none is.
   */
  private unrecordedAttempt = 0;
  private unrecordedStart = 0;
  /** An attempt of this stage has started (the next ones are retries). */
  private attempted = false;
  private readonly metrics: StageMetrics | null;
  private readonly started: number;
  private readonly tracing: boolean;

  constructor(
    private readonly run: RunTelemetry,
    private readonly parent: Context,
    private readonly stage: Stage,
    /** A batch's attempt span: its name, links and extra attributes. */
    private readonly batch: BatchSpanShape | null = null,
  ) {
    this.metrics = run.metrics === null ? null : run.metrics.stage(stage);
    this.started = this.metrics === null ? 0 : performance.now();
    this.tracing = run.tracing && sampledUnder(parent);
  }

  attemptStarted(attempt: number): Context {
    if (!this.tracing) return this.parent;
    const batch = this.batch;
    const first = !this.attempted;
    this.attempted = true;
    if (first && batch === null && this.run.lazyFirstAttempt) {
      this.unrecordedAttempt = attempt;
      this.unrecordedStart = performance.now();
      return this.parent;
    }
    this.span = this.startAttemptSpan(attempt, undefined);
    return trace.setSpan(this.parent, this.span);
  }

  attemptEnded(error: unknown): void {
    this.metrics?.attemptEnded(error === undefined ? 'ok' : 'error');
    const span = error === undefined ? this.takeSpan() : this.takeOrRecordSpan();
    if (span === null) return;
    if (error !== undefined) failSpan(span, error);
    span.end();
  }

  attemptCancelled(reason: CancellationError): void {
    this.metrics?.attemptEnded('cancelled');
    const span = this.takeOrRecordSpan();
    if (span === null) return;
    span.setAttribute('ergon.cancelled', reason.reason);
    span.end();
  }

  private startAttemptSpan(attempt: number, startTime: number | undefined): Span {
    const batch = this.batch;
    return this.run.startSpan(
      batch === null ? attemptSpanNames[this.stage] : batch.name,
      SpanKind.INTERNAL,
      batch === null
        ? { 'ergon.stage': this.stage, 'ergon.attempt': attempt }
        : { 'ergon.stage': this.stage, 'ergon.attempt': attempt, ...batch.attributes },
      this.parent,
      batch?.links,
      startTime,
    );
  }

  /** The running attempt's span, if it has one (forgets an unrecorded attempt). */
  private takeSpan(): Span | null {
    const span = this.span;
    this.span = null;
    this.unrecordedAttempt = 0;
    return span;
  }

  /** The running attempt's span; for an attempt that ran without one, a span started at its start. */
  private takeOrRecordSpan(): Span | null {
    const attempt = this.unrecordedAttempt;
    if (attempt === 0) return this.takeSpan();
    this.unrecordedAttempt = 0;
    return this.startAttemptSpan(attempt, this.unrecordedStart);
  }

  stageEnded(ok: boolean): void {
    this.metrics?.ended(ok, (performance.now() - this.started) / 1000);
  }
}

/** What the loop tells the fetch telemetry about the fetch in progress. */
export interface FetchProgress {
  /** Transactions the current fetch returned so far. */
  received(): number;
  /** The batch span the fetched transactions belong to, if any. */
  batch(): Span | null;
}

/**
 * Telemetry of the fetch stage. A streaming loop polls an empty queue for days, so a span per
 * empty poll would bury the real traces: an attempt gets its span (`fetch attempt`, made
 * after the fact with the attempt's start time) only when it returned transactions (a child
 * of their batch span) or failed; every fetch is counted in the metrics.
 */
export class FetchTelemetry implements StageObserver {
  private attempt = 0;
  private attemptStart = 0;
  private readonly started: number;

  constructor(
    private readonly run: RunTelemetry,
    private readonly progress: FetchProgress,
  ) {
    this.started = performance.now();
  }

  attemptStarted(attempt: number): Context {
    this.attempt = attempt;
    this.attemptStart = Date.now();
    return this.run.runContext;
  }

  attemptEnded(error: unknown): void {
    if (!this.run.tracing) return;
    const received = this.progress.received();
    if (error === undefined && received === 0) return;
    const batch = this.progress.batch();
    const parent = batch === null ? this.run.runContext : this.run.contextOfBatch(batch);
    if (!sampledUnder(parent)) return;
    const attributes = this.run.operationAttributes('receive', 'fetch', received);
    attributes['ergon.stage'] = 'fetch';
    attributes['ergon.attempt'] = this.attempt;
    const span = this.run.startSpan(
      'fetch attempt',
      SpanKind.CLIENT,
      attributes,
      parent,
      undefined,
      this.attemptStart,
    );
    if (error !== undefined) failSpan(span, error);
    span.end();
  }

  attemptCancelled(): void {
    this.attemptEnded(undefined);
  }

  stageEnded(ok: boolean): void {
    this.run.metrics?.fetchEnded(
      ok,
      (performance.now() - this.started) / 1000,
      this.progress.received(),
    );
  }
}

const maxLinks = 128;

/**
 * Where the span of a batch goes: under the first transaction's context (the run's when
 * there is none), linked to the others' (a batch mixes transactions from many traces).
 */
function batchParent(
  run: RunTelemetry,
  contexts: readonly (Context | null)[],
): {
  parent: Context;
  links: Link[];
} {
  const known = contexts.filter(
    (entry): entry is Context => entry !== null && trace.getSpanContext(entry) !== undefined,
  );
  const links: Link[] = [];
  for (const entry of known.slice(1, maxLinks + 1)) {
    const spanContext = trace.getSpanContext(entry);
    if (spanContext !== undefined) links.push({ context: spanContext });
  }
  return { parent: known[0] ?? run.runContext, links };
}

/**
 * Telemetry of one batch's dispatch: a `send <task>` producer span per attempt, entered
 * around `connector.dispatch`, a child of the first transaction's context and linked to the
 * others', plus the dispatch metrics.
 */
export class DispatchTelemetry implements StageObserver {
  private span: Span | null = null;
  private readonly parent: Context;
  private readonly links: Link[];
  private readonly tracing: boolean;

  constructor(
    private readonly run: RunTelemetry,
    contexts: readonly (Context | null)[],
    private readonly size: number,
  ) {
    ({ parent: this.parent, links: this.links } = batchParent(run, contexts));
    this.tracing = run.tracing && sampledUnder(this.parent);
  }

  attemptStarted(attempt: number): Context {
    if (!this.tracing) return this.parent;
    const attributes = this.run.operationAttributes('send', 'dispatch', this.size);
    attributes['ergon.stage'] = 'dispatch';
    attributes['ergon.attempt'] = attempt;
    this.span = this.run.startSpan(
      `send ${this.run.taskName}`,
      SpanKind.PRODUCER,
      attributes,
      this.parent,
      this.links,
    );
    return trace.setSpan(this.parent, this.span);
  }

  attemptEnded(error: unknown): void {
    const span = this.span;
    if (span === null) return;
    this.span = null;
    if (error !== undefined) failSpan(span, error);
    span.end();
  }

  attemptCancelled(): void {
    this.attemptEnded(undefined);
  }

  stageEnded(ok: boolean): void {
    this.run.metrics?.dispatchEnded(ok, this.size);
  }
}

/**
 * Telemetry of one `processBatch` call: a `process batch` span per attempt (attributes
 * `ergon.attempt` and `messaging.batch.message_count`), entered around the handler, a child
 * of the first transaction's context and linked to the others', plus the process stage's
 * attempt and duration metrics (counted once per batch).
 */
export function processBatchTelemetry(
  run: RunTelemetry,
  contexts: readonly (Context | null)[],
  size: number,
): StageTelemetry {
  const { parent, links } = batchParent(run, contexts);
  return new StageTelemetry(run, parent, 'process', {
    name: 'process batch',
    links,
    attributes: { 'messaging.batch.message_count': size },
  });
}

/**
 * Telemetry of an `attempt()` call: a span per attempt (`<name> attempt`, or `attempt`;
 * attribute `ergon.attempt`; ERROR with the exception when it failed; `ergon.cancelled` when
 * unsubscribed), a child of the context active where it was subscribed and entered around
 * `fn`, as lifecycle stages have. `null` (nothing to do per attempt) without a tracer
 * provider, with `traces` false, or under a parent that is not sampled.
 */
export class AttemptTelemetry implements StageObserver {
  private span: Span | null = null;

  private constructor(
    private readonly tracer: Tracer,
    private readonly parent: Context,
    private readonly name: string,
  ) {}

  static start(name: string | undefined, traces: boolean): AttemptTelemetry | null {
    if (!traces || !tracerRegistered()) return null;
    const parent = context.active();
    if (!sampledUnder(parent)) return null;
    return new AttemptTelemetry(
      trace.getTracer('ergon-rx'),
      parent,
      name === undefined ? 'attempt' : `${name} attempt`,
    );
  }

  attemptStarted(attempt: number): Context {
    this.span = this.tracer.startSpan(
      this.name,
      { kind: SpanKind.INTERNAL, attributes: { 'ergon.attempt': attempt } },
      this.parent,
    );
    return trace.setSpan(this.parent, this.span);
  }

  attemptEnded(error: unknown): void {
    const span = this.span;
    if (span === null) return;
    this.span = null;
    if (error !== undefined) failSpan(span, error);
    span.end();
  }

  attemptCancelled(reason: CancellationError): void {
    const span = this.span;
    if (span === null) return;
    this.span = null;
    span.setAttribute('ergon.cancelled', reason.reason);
    span.end();
  }

  stageEnded(): void {}
}
