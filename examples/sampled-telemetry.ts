/**
 * Telemetry a hot pipeline can leave on: traces sampled at 1 % (unsampled transactions cost
 * no SDK span), metrics counted in the engine and reported when Prometheus scrapes, and logs
 * in a file rotated every day. Prints what came out: spans exported, the transactions counted
 * and timed in the scrape, and the log file. Run: npx tsx examples/sampled-telemetry.ts [count]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, MemoryConnector, type Transaction } from '../lib/index.js';
import { getLogger, setupTelemetry } from '../lib/telemetry/index.js';

const count = Number(process.argv[2] ?? 20_000);
const folder = mkdtempSync(join(tmpdir(), 'ergon-sampled-'));

const telemetry = setupTelemetry({
  resource: { serviceName: 'meter-readings', taskName: 'readings' },
  // 1 % of batches are traced; the rest start no SDK span at all.
  traces: {
    sampler: { type: 'parentbased_ratio', ratio: 0.01 },
    exporters: ['memory'],
    processor: 'simple',
  },
  // Serves /metrics in production; the example collects by hand.
  metrics: { readers: [{ type: 'prometheus', preventServerStart: true }] },
  // A new file every day at midnight (local time), the last 7 kept.
  logs: {
    level: 'info',
    sinks: [{ type: 'timedRotatingFile', path: join(folder, '{task}.log'), every: 'day' }],
    task: 'readings',
  },
});

const task = consumerTask({
  name: 'readings',
  process: (tx: Transaction<number>) => tx.payload * 2,
});

const outcomes = await lastValueFrom(
  consume(
    new MemoryConnector<number>({ source: Array.from({ length: count }, (_, n) => n) }),
    task,
    { loop: { mode: 'batch', concurrency: { value: 100 } } },
  ).pipe(toArray()),
);
getLogger('readings').info('run finished', { outcomes: outcomes.length });

const spans = (telemetry.spanExporters[0] as InMemorySpanExporter).getFinishedSpans();
const transactionSpans = spans.filter((span) => span.name === 'process readings').length;
const { resourceMetrics } = await (telemetry.metricReaders[0] as PrometheusExporter).collect();
const scrape = new PrometheusSerializer().serialize(resourceMetrics);
const counted = /consumer_transactions_total\{[^}]*\} (\d+)/.exec(scrape)?.[1];
const timed = /consumer_transactions_duration_count\{[^}]*\} (\d+)/.exec(scrape)?.[1];
await telemetry.shutdown();

console.log(`transactions: ${outcomes.length}`);
console.log(`traced transactions (whole batches of 100, about 1 % of them): ${transactionSpans}`);
console.log(`counted in consumer.transactions.total: ${String(counted)}`);
console.log(`timed in consumer.transactions.duration: ${String(timed)}`);
console.log(`log files: ${readdirSync(folder).join(', ')}`);
console.log(`last log line: ${readFileSync(join(folder, 'readings.log'), 'utf8').trim()}`);
rmSync(folder, { recursive: true, force: true });
