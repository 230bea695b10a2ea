/**
 * What telemetry costs the engine: the engine benchmark (memory connector, batch mode; a no-op
 * async handler at concurrency 64, and a handler waiting 1 ms like an I/O call at concurrency
 * 256) with nothing registered (the API alone: the engine
 * does no span work), with only a context manager (handlers' logs get trace and transaction
 * ids), with the tracing SDK (a span per run, batch, transaction and attempt, BatchSpanProcessor
 * to an exporter that drops everything), and with tracing plus metrics. Each setup runs in a
 * fresh process on the built `dist/`.
 *
 * Usage: npm run bench:telemetry [-- count]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  W3CTraceContextPropagator,
  type ExportResult,
  ExportResultCode,
} from '@opentelemetry/core';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { consume, consumerTask, MemoryConnector } from 'ergon-rx';

const setups = ['api-only', 'context-manager', 'tracing', 'tracing+metrics'] as const;
type Setup = (typeof setups)[number];

class DroppingSpanExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.exported += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

const droppingMetricExporter: PushMetricExporter = {
  export: (_metrics, done) => done({ code: ExportResultCode.SUCCESS }),
  forceFlush: async () => {},
  shutdown: async () => {},
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
};

function install(setup: Setup): DroppingSpanExporter | null {
  if (setup === 'api-only') return null;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  if (setup === 'context-manager') return null;
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const exporter = new DroppingSpanExporter();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({
      spanProcessors: [
        new BatchSpanProcessor(exporter, { maxQueueSize: 65_536, maxExportBatchSize: 4096 }),
      ],
    }),
  );
  if (setup === 'tracing+metrics') {
    metrics.setGlobalMeterProvider(
      new MeterProvider({
        readers: [
          new PeriodicExportingMetricReader({
            exporter: droppingMetricExporter,
            exportIntervalMillis: 1000,
          }),
        ],
      }),
    );
  }
  return exporter;
}

/** The handlers compared: a no-op (pure engine overhead) and one waiting 1 ms like an I/O call. */
const handlers = {
  'no-op': async (): Promise<void> => {},
  'I/O 1 ms': (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1)),
};
type Handler = keyof typeof handlers;

async function run(count: number, handler: Handler): Promise<number> {
  function* payloads(): Generator<number> {
    for (let i = 0; i < count; i++) yield i;
  }
  const connector = new MemoryConnector({ source: payloads(), record: false });
  const task = consumerTask({ process: handlers[handler] });
  const concurrency = handler === 'no-op' ? 64 : 256;
  const started = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) =>
    consume(connector, task, { loop: { concurrency: { value: concurrency } } }).subscribe({
      error: reject,
      complete: resolve,
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function child(setup: Setup, handler: Handler, count: number): Promise<void> {
  const exporter = install(setup);
  await run(Math.min(count, 20_000), handler);
  let best = 0;
  for (let round = 0; round < 3; round++) best = Math.max(best, await run(count, handler));
  console.log(JSON.stringify({ rate: best, spans: exporter?.exported ?? 0 }));
  process.exit(0);
}

function measure(setup: Setup, handler: Handler, count: number): { rate: number; spans: number } {
  const output = execFileSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--setup', setup, handler, String(count)],
    { encoding: 'utf8' },
  );
  return JSON.parse(output.trim().split('\n').pop() as string) as { rate: number; spans: number };
}

const args = process.argv.slice(2);
if (args[0] === '--setup') {
  await child(args[1] as Setup, args[2] as Handler, Number(args[3]));
} else {
  const count = Number(args[0] ?? 100_000);
  console.log(`${count} transactions, batch mode, best of 3, one process per setup`);
  console.log('| handler | setup | tx/s | × API only | spans exported |');
  console.log('|---|---|---:|---:|---:|');
  for (const handler of Object.keys(handlers) as Handler[]) {
    const results = new Map(setups.map((setup) => [setup, measure(setup, handler, count)]));
    const baseline = (results.get('api-only') as { rate: number }).rate;
    for (const [setup, { rate, spans }] of results) {
      console.log(
        `| ${handler} | ${setup} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / baseline).toFixed(2)} | ${spans.toLocaleString('en-US')} |`,
      );
    }
  }
}
