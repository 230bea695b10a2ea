import {
  context,
  createContextKey,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { describeError, describeErrorType, errorParts } from '../../../core/renderers.js';
import type { Outcome } from '../../../core/outcome.js';
import type { Transaction } from '../../../core/transaction.js';
import { taskNameKey, transactionIdKey } from '../../../core/transaction-context.js';
import { EngineMetrics, RunMetrics } from './metrics.js';
import type { StageObserver } from './stage-telemetry.js';

/** Where a run's transactions come from or go to, for span attributes. */
export interface MessagingIdentity {
  /** `messaging.system`, e.g. `rabbitmq` (default `ergon`). */
  readonly system?: string;
  /** `messaging.destination.name`, e.g. the queue. */
  readonly destination?: string;
}

/** How a run's telemetry is set up beyond what is registered globally. */
export interface RunTelemetryOptions {
  /** A long-lived sink (a shared dispatcher) has no run span of its own (default `true`). */
  readonly runSpan?: boolean;
  /** `false`: no spans at all, whatever is registered (`EngineOptions.traces`; default `true`). */
  readonly traces?: boolean;
}

/**
 * When a handler attempt of a lifecycle stage gets its span (`traces.attemptSpans` of
 * `setupTelemetry`): `always` (default) starts one for every attempt, entered around the
 * handler; `onFailure` starts none for the first attempt of a stage (its handler runs in the
 * transaction span's context) and records it afterwards, from the attempt's start, only when
 * it failed, timed out or was cancelled; retries get their spans up front as with `always`.
 * `onFailure` saves one SDK span per successful transaction; the price is that spans a
 * handler starts in its first attempt hang from the transaction span (docs/telemetry.md,
 * "Spans").
 */
export type AttemptSpans = 'always' | 'onFailure';

/** The process-wide {@link AttemptSpans} rule; a run reads it when it starts. */
let attemptSpans: AttemptSpans = 'always';

/**
 * Sets the process-wide {@link AttemptSpans} rule for the runs that start from now on and
 * returns the one it replaces. `setupTelemetry` sets it from `traces.attemptSpans` (and puts
 * the old one back on shutdown); call it yourself when you register your own tracer provider.
 *
 * @example
 * ```ts
 * const previous = setAttemptSpans('onFailure');
 * // … runs started now record a stage's first attempt only when it did not succeed
 * setAttemptSpans(previous);
 * ```
 */
export function setAttemptSpans(rule: AttemptSpans): AttemptSpans {
  const previous = attemptSpans;
  attemptSpans = rule;
  return previous;
}

const probeKey = createContextKey('ergon.probe');
const maxLinks = 128;

/** Whether a real (not no-op) tracer provider is registered. */
export function tracerRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return (
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- still the global default in @opentelemetry/api 1.x, and the only way to tell it has no delegate yet
    !(provider instanceof ProxyTracerProvider) ||
    provider.getDelegateTracer('ergon-rx') !== undefined
  );
}

/** Whether a context manager is registered, so entered contexts reach callbacks. */
function contextsPropagate(): boolean {
  return context.with(
    ROOT_CONTEXT.setValue(probeKey, true),
    () => context.active().getValue(probeKey) === true,
  );
}

/**
 * The telemetry of one engine run (a `consume`, `processWith` or `produce` subscription),
 * decided once at its start: with no OpenTelemetry SDK registered it does nothing at all (no
 * span, context or clock work per transaction). With one, it opens a run span and gives each
 * transaction a span, and each handler attempt a child span entered around the handler's
 * subscription, and records the engine's metrics.
 *
 * A run may last for days, so transactions never hang under the run span: a batch (batch
 * mode) or a transaction starts its own trace linked to the run, unless the transaction
 * carries its producer's context (W3C `traceparent` in its metadata), which it continues.
 */
export class RunTelemetry {
  readonly tracing: boolean;
  /** Contexts are entered around handlers (tracing, or log records with transaction ids). */
  readonly contexts: boolean;
  readonly measuring: boolean;
  /** A stage's first attempt gets a span only when it did not succeed (see {@link AttemptSpans}). */
  readonly lazyFirstAttempt: boolean;
  readonly metrics: RunMetrics | null;
  readonly runContext: Context;
  private readonly tracer: Tracer;
  private readonly system: string;
  private readonly destination: string | undefined;
  private readonly transactionSpanName: string;
  private readonly batchSpanName: string;
  private readonly operationName: string;
  private readonly runSpan: Span | null;
  /** A link to the run span, for traces a run starts (empty without a run span). */
  private readonly runLink: Link[];
  private ended = false;
  /** The last batch span a transaction was started under, and the run's context with it. */
  private batch: Span | null = null;
  private batchContext: Context;

  constructor(
    readonly kind: 'consumer' | 'producer',
    readonly taskName: string,
    identity: MessagingIdentity = {},
    options: RunTelemetryOptions = {},
  ) {
    const { runSpan: withRunSpan = true, traces = true } = options;
    this.tracing = traces && tracerRegistered();
    this.contexts = this.tracing || contextsPropagate();
    this.lazyFirstAttempt = attemptSpans === 'onFailure';
    const instruments = EngineMetrics.registered(kind);
    this.measuring = instruments !== null;
    this.metrics =
      instruments === null
        ? null
        : new RunMetrics(instruments, {
            task: taskName,
            ...(identity.system === undefined ? {} : { connector: identity.system }),
          });
    this.tracer = trace.getTracer('ergon-rx');
    this.system = identity.system ?? 'ergon';
    this.destination = identity.destination;
    this.transactionSpanName = `process ${taskName}`;
    this.batchSpanName = `batch ${taskName}`;
    this.operationName = kind === 'consumer' ? 'process' : 'prepare';
    const attributes: Attributes = {
      'ergon.task.name': taskName,
      'messaging.system': identity.system ?? 'ergon',
      ...(identity.destination === undefined
        ? {}
        : { 'messaging.destination.name': identity.destination }),
    };
    const base = new ChainedContext(context.active(), taskNameKey, taskName);
    this.runSpan =
      this.tracing && withRunSpan
        ? this.tracer.startSpan(
            `${kind === 'consumer' ? 'consume' : 'produce'} ${taskName}`,
            {
              kind: SpanKind.INTERNAL,
              attributes,
            },
            base,
          )
        : null;
    this.runContext = this.runSpan === null ? base : trace.setSpan(base, this.runSpan);
    this.runLink = this.runSpan === null ? [] : [{ context: this.runSpan.spanContext() }];
    this.batchContext = this.runContext;
  }

  get enabled(): boolean {
    return this.contexts || this.measuring;
  }

  /** Ends the run span (once), recording `error` when the run failed. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.metrics?.end();
    if (this.runSpan === null) return;
    if (error !== undefined) failSpan(this.runSpan, error);
    this.runSpan.end();
  }

  /** Counts a transaction released before its lifecycle started (it has no span). */
  countUnstarted(outcome: Outcome): void {
    this.metrics?.transactionEnded(outcome.status, null);
  }

  /**
   * Opens a batch span: a new trace linked to the run span and to each transaction's
   * producer context.
   */
  startBatch(transactions: readonly Transaction[]): Span | null {
    if (!this.tracing) return null;
    // A run calls this once per batch: few calls, so it stays simple for the interpreter too.
    let links = this.runLink;
    for (let index = 0; index < transactions.length && links.length < maxLinks; index++) {
      const producer = producerContext(transactions[index] as Transaction);
      if (producer === undefined) continue;
      if (links === this.runLink) links = [...this.runLink];
      links.push({ context: producer });
    }
    return this.tracer.startSpan(
      this.batchSpanName,
      {
        kind: SpanKind.CONSUMER,
        root: true,
        links,
        attributes: this.operationAttributes('process', 'process', transactions.length),
      },
      this.runContext,
    );
  }

  /** Links one more transaction's producer to a batch span (transactions arrive one by one). */
  linkToBatch(batch: Span | null, transaction: Transaction): void {
    if (batch === null || !batch.isRecording()) return;
    const producer = producerContext(transaction);
    if (producer !== undefined) batch.addLink({ context: producer });
  }

  /**
   * Starts a transaction's telemetry. A transaction that carries its producer's context
   * continues that trace (so a pipeline over a queue is one distributed trace) and links to
   * its batch; otherwise its span is a child of `batch`, or, without a batch, the root of a
   * new trace linked to the run.
   *
   * A transaction whose parent is not sampled (its producer's `traceparent` says so, or its
   * batch span was not sampled) gets no span from the SDK at all: its context carries the
   * parent's span context, non-recording, so its handlers' logs and what it sends on keep the
   * trace id and the unsampled flag, as the SDK's default parent-based sampler would have
   * decided, for none of the SDK's cost. Only a root (continuous mode, no producer context)
   * asks the sampler.
   */
  startTransaction(transaction: Transaction, batch: Span | null): TransactionTrace | null {
    if (!this.enabled) return null;
    let parent = this.runContext;
    let span: Span | null = null;
    if (this.tracing) {
      const producer = producerContext(transaction);
      let links: Link[] | undefined;
      let sampled = true;
      if (producer !== undefined) {
        parent = trace.setSpanContext(this.runContext, producer);
        sampled = isSampled(producer.traceFlags);
        links = batch === null ? this.runLink : [{ context: batch.spanContext() }];
      } else if (batch !== null) {
        parent = this.contextOfBatch(batch);
        sampled = isSampled(batch.spanContext().traceFlags);
      } else {
        links = this.runLink;
      }
      if (sampled) {
        span = this.tracer.startSpan(
          this.transactionSpanName,
          {
            kind: SpanKind.CONSUMER,
            root: producer === undefined && batch === null,
            links,
            attributes: this.transactionAttributes(transaction.id),
          },
          parent,
        );
        parent = trace.setSpan(parent, span);
        // The sampler dropped this new trace: its (unsampled) context stays for what the
        // transaction sends on; no more spans under it.
        if (!span.isRecording()) span = null;
      }
    }
    return new TransactionTrace(
      parent,
      transaction.id,
      span,
      this.measuring ? performance.now() : 0,
    );
  }

  /** The run's context with `batch` as its span: made once per batch, shared by its transactions. */
  contextOfBatch(batch: Span): Context {
    if (batch !== this.batch) {
      this.batch = batch;
      this.batchContext = trace.setSpan(this.runContext, batch);
    }
    return this.batchContext;
  }

  /**
   * A transaction span's attributes, passed whole to `startSpan` (which copies them once more
   * and sets them one by one): no key without a value.
   */
  private transactionAttributes(id: string): Attributes {
    return this.destination === undefined
      ? {
          'ergon.task.name': this.taskName,
          'messaging.system': this.system,
          'messaging.operation.type': 'process',
          'messaging.operation.name': this.operationName,
          'messaging.message.id': id,
          'ergon.transaction.id': id,
        }
      : {
          'ergon.task.name': this.taskName,
          'messaging.system': this.system,
          'messaging.destination.name': this.destination,
          'messaging.operation.type': 'process',
          'messaging.operation.name': this.operationName,
          'messaging.message.id': id,
          'ergon.transaction.id': id,
        };
  }

  /**
   * The attributes of a span over a batch or a fetch: the run's, the messaging operation and
   * the batch's size, in one literal (no spread of the run's attributes per span).
   */
  operationAttributes(type: string, name: string, count: number): Attributes {
    return this.destination === undefined
      ? {
          'ergon.task.name': this.taskName,
          'messaging.system': this.system,
          'messaging.operation.type': type,
          'messaging.operation.name': name,
          'messaging.batch.message_count': count,
        }
      : {
          'ergon.task.name': this.taskName,
          'messaging.system': this.system,
          'messaging.destination.name': this.destination,
          'messaging.operation.type': type,
          'messaging.operation.name': name,
          'messaging.batch.message_count': count,
        };
  }

  /** Ends a transaction's telemetry with its outcome. */
  endTransaction(transactionTrace: TransactionTrace | null, outcome: Outcome): void {
    if (transactionTrace === null) return;
    this.metrics?.transactionEnded(
      outcome.status,
      (performance.now() - transactionTrace.started) / 1000,
    );
    const span = transactionTrace.span;
    if (span === null) return;
    span.setAttribute('ergon.outcome', outcome.status);
    if (outcome.status === 'released') span.setAttribute('ergon.release.reason', outcome.reason);
    if (outcome.status === 'failed' || outcome.status === 'timeout') {
      failSpan(span, outcome.handlerError ?? outcome.error);
    } else if (outcome.status === 'exception') {
      span.setAttribute('error.type', describeErrorType(outcome.error));
    }
    span.end();
  }

  /** A state change of the run's circuit breaker: an event on the run's span, and counted. */
  circuitChanged(state: string): void {
    this.runSpan?.addEvent('circuit_breaker', { 'ergon.circuit_breaker.state': state });
    this.metrics?.circuitChanged(state);
  }

  /** The downstream rate limited the run for `delay` ms: an event on the run's span, and counted. */
  ratePaused(delay: number): void {
    this.runSpan?.addEvent('rate_limit_pause', { 'ergon.rate_limit.pause_ms': delay });
    this.metrics?.ratePaused();
  }

  startSpan(
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    parent: Context,
    links?: Link[],
    startTime?: number,
  ): Span {
    return this.tracer.startSpan(name, { kind, attributes, links, startTime }, parent);
  }
}

/**
 * Marks a span failed with `error`: exception event, ERROR status, `error.type`. Reads the
 * error only through {@link errorParts}, so an error whose getters throw is recorded too.
 */
export function failSpan(span: Span, error: unknown): void {
  const parts = errorParts(error);
  const message =
    parts === undefined ? describeError(error) : (parts.message ?? describeError(error));
  span.recordException(
    parts === undefined ? message : { name: parts.type, message, stack: parts.stack },
  );
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute('error.type', describeErrorType(error));
}

/**
 * Whether spans under `parent` are to be recorded: its span context is sampled (a context
 * without a span, such as the run's without a run span, counts as sampled: the SDK's sampler
 * decides for the root it starts there).
 */
export function sampledUnder(parent: Context): boolean {
  const spanContext = trace.getSpanContext(parent);
  return spanContext === undefined || isSampled(spanContext.traceFlags);
}

function isSampled(flags: number): boolean {
  return (flags & TraceFlags.SAMPLED) !== 0;
}

/** The span context a transaction's producer put in its metadata (`traceparent`), if any. */
function producerContext(transaction: Transaction) {
  if (typeof transaction.metadata['traceparent'] !== 'string') return undefined;
  const extracted = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, transaction.metadata));
  return extracted === undefined ? undefined : { ...extracted, isRemote: true };
}

/**
 * A context holding one value on top of a parent context. `@opentelemetry/api`'s own context
 * copies its whole map, and makes three closures, on every `setValue`; the engine derives
 * contexts several times per transaction (its span, its id, each attempt's span), so it starts
 * each run from a chained context instead: deriving one is a single small object, and reading
 * a key walks the few links up to the context the run started in. Contexts derived from it
 * (by the engine, the tracing SDK or a handler) are chained the same way.
 */
export class ChainedContext implements Context {
  constructor(
    private readonly parent: Context,
    private readonly key: symbol,
    private readonly value: unknown,
  ) {}

  getValue(key: symbol): unknown {
    if (this.key === key) return this.value;
    let current = this.parent;
    while (current instanceof ChainedContext) {
      if (current.key === key) return current.value;
      current = current.parent;
    }
    return current.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new ChainedContext(this, key, value);
  }

  /** A child in which `key` reads as absent, as it does once deleted from a context's map. */
  deleteValue(key: symbol): Context {
    return new ChainedContext(this, key, undefined);
  }
}

/**
 * One transaction's telemetry: its context (the id of the transaction, for log records, over
 * its span's or its parent's context: a single object, the context entered around its
 * handlers), its span (`null` when it has none: not sampled, or no tracer provider) and its
 * start time (for the metrics; 0 without them).
 *
 * It is also the observer of the transaction's stages when there is nothing to record per
 * attempt (no span, no metrics: see `stageObserver`): each attempt then runs in this context
 * and no object is made per stage.
 */
export class TransactionTrace extends ChainedContext implements StageObserver {
  constructor(
    parent: Context,
    id: string,
    readonly span: Span | null,
    readonly started: number,
  ) {
    super(parent, transactionIdKey, id);
  }

  attemptStarted(): Context {
    return this;
  }

  attemptEnded(): void {}

  attemptCancelled(): void {}

  stageEnded(): void {}
}
