/**
 * Attempt spans on failure only (`traces.attemptSpans: 'onFailure'`): a transaction whose
 * handler succeeds at once has just its own span, and the spans its handler starts hang from
 * it; a first attempt that fails is recorded afterwards (ERROR, from its start), and its retry
 * has its span up front. Prints each transaction span's children.
 * Run: npx tsx examples/attempt-spans.ts
 */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, MemoryConnector, type Transaction } from '../lib/index.js';
import { setupTelemetry } from '../lib/telemetry/index.js';

const telemetry = setupTelemetry({
  resource: { serviceName: 'shop', taskName: 'charge-orders' },
  // One SDK span less per transaction whose first attempt succeeds.
  traces: { exporters: ['memory'], processor: 'simple', attemptSpans: 'onFailure' },
  metrics: { enabled: false },
  logs: { sinks: [] },
});

const tracer = trace.getTracer('shop.payments');
const task = consumerTask({
  name: 'charge-orders',
  process: (tx: Transaction<string>, { attempt }) =>
    tracer.startActiveSpan('charge card', async (span) => {
      try {
        await new Promise((resolve) => setTimeout(resolve, 2));
        if (tx.payload === 'order-2' && attempt === 1) throw new Error('payment gateway busy');
        return `receipt for ${tx.payload}`;
      } finally {
        span.end();
      }
    }),
});

const outcomes = await lastValueFrom(
  consume(
    new MemoryConnector<string>({ idPrefix: 'tx-', source: ['order-1', 'order-2', 'order-3'] }),
    task,
    { process: { retry: { maxAttempts: 2, backoff: 10 } } },
  ).pipe(toArray()),
);
const spans = (telemetry.spanExporters[0] as InMemorySpanExporter).getFinishedSpans();
await telemetry.shutdown();

const label = (span: (typeof spans)[number]): string => {
  const attempt = span.attributes['ergon.attempt'];
  const error = span.status.code === SpanStatusCode.ERROR ? ' ERROR' : '';
  return `${span.name}${attempt === undefined ? '' : ` #${String(attempt)}`}${error}`;
};
console.log(`outcomes: ${outcomes.map((outcome) => outcome.status).join(', ')}`);
for (const transaction of spans.filter((span) => span.name === 'process charge-orders')) {
  const id = transaction.spanContext().spanId;
  const children = spans
    .filter((span) => span.parentSpanContext?.spanId === id)
    .map(label)
    .sort();
  console.log(`${String(transaction.attributes['ergon.transaction.id'])}: ${children.join(', ')}`);
}
