/**
 * Observability in one screen: JSON logs with trace ids on the console, and the spans of a
 * small consumer run printed as a tree at the end (a second, hot task runs with
 * `traces: false`: logs and metrics, no spans). The spans go to an in-memory exporter here;
 * point `exporters` at `{ type: 'otlp', endpoint: 'http://localhost:4317' }` to see them in
 * Jaeger or Tempo instead (docs/telemetry.md). Run: npx tsx examples/observability.ts
 */
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, MemoryConnector, type Transaction } from '../lib/index.js';
import { getLogger, setupTelemetry } from '../lib/telemetry/index.js';

interface Order {
  readonly id: number;
  readonly amount: number;
}

/** Attributes every span of the run repeats, left out of the tree to keep it readable. */
const repetitive = ['ergon.task.name', 'messaging.system', 'messaging.operation.'];

const telemetry = setupTelemetry({
  resource: { serviceName: 'shop', taskName: 'charge-orders' },
  traces: { exporters: ['memory'], processor: 'simple' },
  metrics: { enabled: false },
  logs: { level: 'info', format: 'json', sinks: ['console'] },
});

const logger = getLogger('shop.payments');
const tracer = trace.getTracer('shop.payments');

let calls = 0;
const task = consumerTask({
  name: 'charge-orders',
  process: (tx: Transaction<Order>) =>
    tracer.startActiveSpan('charge card', async (span) => {
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (++calls === 2) throw new Error('payment gateway busy');
        logger.info('charged order %d', tx.payload.id, { amount: tx.payload.amount });
        return `receipt-${tx.payload.id}`;
      } catch (error) {
        logger.warn('charge failed, will retry', error, { order: tx.payload.id });
        throw error;
      } finally {
        span.end();
      }
    }),
});

const connector = new MemoryConnector<Order>({
  source: [
    { id: 1, amount: 30 },
    { id: 2, amount: 12 },
    { id: 3, amount: 99 },
  ],
});

const root = tracer.startSpan('example');
const outcomes = await context.with(trace.setSpan(context.active(), root), () =>
  lastValueFrom(
    consume(connector, task, {
      loop: { concurrency: { value: 2 } },
      process: { retry: { maxAttempts: 2, backoff: '10ms' } },
    }).pipe(toArray()),
  ),
);
root.end();
logger.info('run finished', { outcomes: outcomes.map((outcome) => outcome.status) });

// A hot task whose handler costs less than the two spans a transaction would get: its run
// starts none (`traces: false`), while its metrics and its log records' transaction ids stay.
// The tree below has no span of it.
const countTicks = consumerTask({
  name: 'count-ticks',
  process: (tx: Transaction<number>, { logger: taskLogger }) => {
    if (tx.payload === 999) taskLogger.info('tick %d', tx.payload);
    return tx.payload;
  },
});
const ticks = new MemoryConnector<number>({ source: Array.from({ length: 1000 }, (_, n) => n) });
await lastValueFrom(
  consume(ticks, countTicks, { loop: { concurrency: { value: 64 } } }, { traces: false }).pipe(
    toArray(),
  ),
);

const memory = telemetry.spanExporters.find((e) => e instanceof InMemorySpanExporter);
const spans = memory instanceof InMemorySpanExporter ? memory.getFinishedSpans() : [];
console.log(`\nspans (${spans.length}):`);
printTree(spans);
await telemetry.shutdown();

function printTree(all: readonly ReadableSpan[]): void {
  const ids = new Set(all.map((span) => span.spanContext().spanId));
  const names = new Map(all.map((span) => [span.spanContext().spanId, span.name]));
  const children = new Map<string | undefined, ReadableSpan[]>();
  for (const span of all) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : undefined;
    children.set(key, [...(children.get(key) ?? []), span]);
  }
  const visit = (parent: string | undefined, depth: number): void => {
    const level = [...(children.get(parent) ?? [])].sort(
      (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
    );
    for (const span of level) {
      const [seconds, nanos] = span.duration;
      const ms = (seconds * 1e3 + nanos / 1e6).toFixed(1);
      const status = span.status.code === SpanStatusCode.ERROR ? ' ERROR' : '';
      const attributes = Object.entries(span.attributes)
        .filter(([key]) => !repetitive.some((prefix) => key.startsWith(prefix)))
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(' ');
      const links = span.links
        .map((link) => names.get(link.context.spanId))
        .filter((name) => name !== undefined);
      console.log(
        `${'  '.repeat(depth)}${span.name} (${ms} ms)${status}${attributes ? ` ${attributes}` : ''}` +
          ` trace=${span.spanContext().traceId.slice(0, 8)}` +
          (links.length > 0 ? ` linked to: ${links.join(', ')}` : ''),
      );
      visit(span.spanContext().spanId, depth + 1);
    }
  };
  visit(undefined, 0);
}
