import {
  context,
  diag,
  DiagLogLevel,
  metrics,
  propagation,
  SpanStatusCode,
  trace,
  type Attributes,
  type AttributeValue,
  type DiagLogger,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
  type Span,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { EngineMetricProducer } from '../../../../lib/telemetry/index.js';

/**
 * Counts, per span id, how often the SDK started and ended a span. The SDK itself refuses a
 * second `end()` (and says so through `diag`), so together with {@link DiagCapture} this tells
 * whether every span was ended exactly once.
 */
class SpanLedger implements SpanProcessor {
  private readonly started = new Map<string, string>();
  private readonly ended = new Map<string, number>();

  onStart(span: Span): void {
    this.started.set(span.spanContext().spanId, span.name);
  }

  onEnd(span: ReadableSpan): void {
    const id = span.spanContext().spanId;
    this.ended.set(id, (this.ended.get(id) ?? 0) + 1);
  }

  /** Names of spans that were started and never ended. */
  unended(): string[] {
    return [...this.started]
      .filter(([id]) => !this.ended.has(id))
      .map(([, name]) => name)
      .sort();
  }

  /** Spans whose `onEnd` ran more than once (should be impossible with the SDK's guard). */
  endedTwice(): string[] {
    return [...this.ended]
      .filter(([, count]) => count > 1)
      .map(([id]) => this.started.get(id) ?? id);
  }

  get startedCount(): number {
    return this.started.size;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** A diag logger keeping what OpenTelemetry warns about (a span ended twice, used after end…). */
class DiagCapture implements DiagLogger {
  readonly messages: string[] = [];

  error(message: string): void {
    this.messages.push(`error: ${message}`);
  }

  warn(message: string): void {
    this.messages.push(`warn: ${message}`);
  }

  info(): void {}
  debug(): void {}
  verbose(): void {}

  /** Complaints about span misuse: ended twice, or changed after its end. */
  spanMisuse(): string[] {
    return this.messages.filter((message) =>
      /only call end\(\) on a span once|operation on ended Span/i.test(message),
    );
  }
}

/** A metric reader a spec collects from on demand. */
class CollectingMetricReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Every metric of the `ergon.task` meter collected now. */
  async ergonMetrics(): Promise<MetricSnapshot> {
    const { resourceMetrics } = await this.collect();
    return new MetricSnapshot(
      resourceMetrics.scopeMetrics
        .filter((scope) => scope.scope.name === 'ergon.task')
        .flatMap((scope) => scope.metrics),
    );
  }
}

/** One collection of the engine's metrics, with lookups by name and attributes. */
export class MetricSnapshot {
  constructor(readonly metrics: readonly MetricData[]) {}

  names(): string[] {
    return this.metrics.map((metric) => metric.descriptor.name).sort();
  }

  private find(name: string): MetricData | undefined {
    return this.metrics.find((metric) => metric.descriptor.name === name);
  }

  /** Sum of a counter's points whose attributes include `where`; 0 when absent. */
  sum(name: string, where: Attributes = {}): number {
    const metric = this.find(name);
    if (metric === undefined) return 0;
    if (metric.dataPointType !== DataPointType.SUM) {
      throw new Error(`${name} is not a sum (${String(metric.dataPointType)})`);
    }
    return metric.dataPoints
      .filter((point) => matches(point.attributes, where))
      .reduce((total, point) => total + point.value, 0);
  }

  /** The values of a gauge's points whose attributes include `where`. */
  gauge(name: string, where: Attributes = {}): number[] {
    const metric = this.find(name);
    if (metric === undefined) return [];
    if (metric.dataPointType !== DataPointType.GAUGE) {
      throw new Error(`${name} is not a gauge (${String(metric.dataPointType)})`);
    }
    return metric.dataPoints
      .filter((point) => matches(point.attributes, where))
      .map((point) => point.value);
  }

  /** Count and sum of a histogram's points whose attributes include `where`. */
  histogram(name: string, where: Attributes = {}): { count: number; sum: number } {
    const metric = this.find(name);
    if (metric === undefined) return { count: 0, sum: 0 };
    if (metric.dataPointType !== DataPointType.HISTOGRAM) {
      throw new Error(`${name} is not a histogram (${String(metric.dataPointType)})`);
    }
    let count = 0;
    let sum = 0;
    for (const point of metric.dataPoints) {
      if (!matches(point.attributes, where)) continue;
      count += point.value.count;
      sum += point.value.sum ?? 0;
    }
    return { count, sum };
  }

  /** The attribute sets of every data point, with the metric's name. */
  attributeSets(): { name: string; attributes: Attributes }[] {
    return this.metrics.flatMap((metric) =>
      (metric.dataPoints as readonly { attributes: Attributes }[]).map((point) => ({
        name: metric.descriptor.name,
        attributes: point.attributes,
      })),
    );
  }

  /** The unit of a metric, `undefined` when it was not recorded. */
  unit(name: string): string | undefined {
    return this.find(name)?.descriptor.unit;
  }
}

function matches(attributes: Attributes, where: Attributes): boolean {
  return Object.entries(where).every(([key, value]) => attributes[key] === value);
}

/** What {@link installOtel} registered, and the means to read it back and release it. */
export interface InstalledOtel {
  readonly exporter: InMemorySpanExporter;
  readonly ledger: SpanLedger;
  readonly diagnostics: DiagCapture;
  readonly reader: CollectingMetricReader;
  readonly tracerProvider: NodeTracerProvider | null;
  /** Finished spans so far. */
  spans(): ReadableSpan[];
  /** Unregisters every global this installed and shuts the providers down. */
  release(): Promise<void>;
}

export interface InstallOptions {
  /** Register a tracer provider (default true). */
  readonly tracing?: boolean;
  /** Register a meter provider (default true). */
  readonly metrics?: boolean;
  /** Register an AsyncLocalStorage context manager and a W3C propagator (default true). */
  readonly contexts?: boolean;
  /** The tracer provider's sampler (default: the SDK's, parent-based always on). */
  readonly sampler?: Sampler;
  /** Give the metric reader an `EngineMetricProducer`, as `setupTelemetry` does (default false). */
  readonly engineMetricProducer?: boolean;
}

/**
 * Registers an OpenTelemetry SDK as the process globals, the way an application (or
 * `setupTelemetry`) does: a Node tracer provider exporting to memory through a simple
 * processor, a meter provider with an on-demand reader, the AsyncLocalStorage context manager,
 * the W3C trace-context propagator, and a diag logger capturing warnings. Every spec calling it
 * must call `release()` in an `after`/`afterEach` hook.
 */
export function installOtel(options: InstallOptions = {}): InstalledOtel {
  const diagnostics = new DiagCapture();
  diag.setLogger(diagnostics, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  const exporter = new InMemorySpanExporter();
  const ledger = new SpanLedger();
  const producer = options.engineMetricProducer === true ? new EngineMetricProducer() : null;
  const reader = new CollectingMetricReader(
    producer === null ? undefined : { metricProducers: [producer] },
  );
  const registered: (() => void)[] = [() => diag.disable()];
  if (producer !== null) registered.push(() => producer.close());
  const release = async (): Promise<void> => {
    for (const undo of registered.reverse()) undo();
    registered.length = 0;
    await tracerProvider?.shutdown();
    await meterProvider?.shutdown();
  };
  let tracerProvider: NodeTracerProvider | null = null;
  let meterProvider: MeterProvider | null = null;
  const must = (done: boolean, what: string): void => {
    if (!done) {
      void release();
      throw new Error(`a global ${what} is already registered: a previous spec leaked it`);
    }
  };
  if (options.contexts ?? true) {
    const manager = new AsyncLocalStorageContextManager().enable();
    must(context.setGlobalContextManager(manager), 'context manager');
    registered.push(() => context.disable());
    must(propagation.setGlobalPropagator(new W3CTraceContextPropagator()), 'propagator');
    registered.push(() => propagation.disable());
  }
  if (options.tracing ?? true) {
    tracerProvider = new NodeTracerProvider({
      ...(options.sampler === undefined ? {} : { sampler: options.sampler }),
      spanProcessors: [ledger, new SimpleSpanProcessor(exporter)],
    });
    must(trace.setGlobalTracerProvider(tracerProvider), 'tracer provider');
    registered.push(() => trace.disable());
  }
  if (options.metrics ?? true) {
    meterProvider = new MeterProvider({ readers: [reader] });
    must(metrics.setGlobalMeterProvider(meterProvider), 'meter provider');
    registered.push(() => metrics.disable());
  }
  return {
    exporter,
    ledger,
    diagnostics,
    reader,
    tracerProvider,
    spans: () => exporter.getFinishedSpans(),
    release,
  };
}

// Span tree helpers.

export function spanId(span: ReadableSpan): string {
  return span.spanContext().spanId;
}

export function traceId(span: ReadableSpan): string {
  return span.spanContext().traceId;
}

/** The parent span id, `undefined` for a root span. */
export function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

export function named(spans: readonly ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((span) => span.name === name);
}

/** The only span called `name`; throws when there are none or several. */
export function single(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = named(spans, name);
  if (found.length !== 1) {
    throw new Error(
      `expected exactly one span "${name}", found ${found.length} among ${spans
        .map((span) => span.name)
        .join(', ')}`,
    );
  }
  return found[0] as ReadableSpan;
}

export function childrenOf(spans: readonly ReadableSpan[], parent: ReadableSpan): ReadableSpan[] {
  return spans.filter(
    (span) => parentId(span) === spanId(parent) && traceId(span) === traceId(parent),
  );
}

export function attribute(span: ReadableSpan, key: string): AttributeValue | undefined {
  return span.attributes[key];
}

/** The transaction span (`process <task>`) of transaction `id`. */
export function transactionSpan(
  spans: readonly ReadableSpan[],
  task: string,
  id: string,
): ReadableSpan {
  const found = named(spans, `process ${task}`).filter(
    (span) => span.attributes['ergon.transaction.id'] === id,
  );
  if (found.length !== 1) {
    throw new Error(`expected one "process ${task}" span for ${id}, found ${found.length}`);
  }
  return found[0] as ReadableSpan;
}

export function isError(span: ReadableSpan): boolean {
  return span.status.code === SpanStatusCode.ERROR;
}

/** Names of the exception events a span recorded, as `type: message`. */
export function exceptions(span: ReadableSpan): string[] {
  return span.events
    .filter((event) => event.name === 'exception')
    .map(
      (event) =>
        `${String(event.attributes?.['exception.type'])}: ${String(event.attributes?.['exception.message'])}`,
    );
}

/** The span ids a span links to. */
export function linkedSpanIds(span: ReadableSpan): string[] {
  return span.links.map((link) => link.context.spanId);
}

/** The `traceparent` header value of a span. */
export function traceparentOf(span: ReadableSpan): string {
  const { traceId: trace, spanId: id, traceFlags } = span.spanContext();
  return `00-${trace}-${id}-${traceFlags.toString(16).padStart(2, '0')}`;
}

/** A one-line description of a span: name, transaction id, outcome, attempt, ERROR. */
function label(span: ReadableSpan): string {
  const parts = [span.name];
  const id = span.attributes['ergon.transaction.id'];
  if (typeof id === 'string') parts.push(id);
  const outcome = span.attributes['ergon.outcome'];
  if (outcome !== undefined) parts.push(`=${String(outcome)}`);
  const attempt = span.attributes['ergon.attempt'];
  if (attempt !== undefined) parts.push(`#${String(attempt)}`);
  if (isError(span)) parts.push('ERROR');
  return parts.join(' ');
}

/**
 * The spans as an indented forest, one line per span ({@link label}), children under their
 * parent (two spaces deeper), siblings and roots sorted by label.
 */
export function renderTree(spans: readonly ReadableSpan[]): string[] {
  const ids = new Set(spans.map(spanId));
  const lines: string[] = [];
  const visit = (span: ReadableSpan, depth: number): void => {
    lines.push(`${'  '.repeat(depth)}${label(span)}`);
    const children = [...childrenOf(spans, span)].sort(byLabel);
    for (const child of children) visit(child, depth + 1);
  };
  const roots = spans
    .filter((span) => {
      const parent = parentId(span);
      return parent === undefined || !ids.has(parent);
    })
    .sort(byLabel);
  for (const root of roots) visit(root, 0);
  return lines;
}

function byLabel(a: ReadableSpan, b: ReadableSpan): number {
  const left = label(a);
  const right = label(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** `a` started no later than `b`. */
export function startedNoLaterThan(a: ReadableSpan, b: ReadableSpan): boolean {
  const [as, an] = a.startTime;
  const [bs, bn] = b.startTime;
  return as < bs || (as === bs && an <= bn);
}
