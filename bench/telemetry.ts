/**
 * What telemetry costs the engine: the engine benchmark (memory connector, batch mode; a no-op
 * async handler at concurrency 64, and a handler waiting 1 ms like an I/O call at concurrency
 * 256) with nothing registered (the API alone: the engine
 * does no span work), with only a context manager (handlers' logs get trace and transaction
 * ids), with the tracing SDK (a span per run, batch, transaction and attempt, BatchSpanProcessor
 * to an exporter that drops everything), with the same SDK sampling 1 % of the traces, and with
 * tracing plus metrics. Each setup runs in a
 * fresh process on the built `dist/`.
 *
 * Usage: npm run bench:telemetry [-- count]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ergonConsume } from './contenders/engine.js';
import {
  installTelemetry,
  telemetrySetups as setups,
  type TelemetrySetup as Setup,
} from './contenders/telemetry.js';
import type { Workload } from './contenders/workload.js';

/** The handlers compared: a no-op (pure engine overhead) and one waiting 1 ms like an I/O call. */
const handlers = {
  'no-op': { workload: { kind: 'no-op' }, concurrency: 64 },
  'I/O 1 ms': { workload: { kind: 'timer', ms: 1 }, concurrency: 256 },
} satisfies Record<string, { workload: Workload; concurrency: number }>;
type Handler = keyof typeof handlers;

async function run(count: number, handler: Handler): Promise<number> {
  const result = await ergonConsume({ ...handlers[handler], count, mode: 'batch', latency: false });
  return result.count / result.seconds;
}

async function child(setup: Setup, handler: Handler, count: number): Promise<void> {
  const telemetry = installTelemetry(setup);
  await run(Math.min(count, 20_000), handler);
  let best = 0;
  for (let round = 0; round < 3; round++) best = Math.max(best, await run(count, handler));
  await telemetry.flush();
  console.log(JSON.stringify({ rate: best, spans: telemetry.spans() }));
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
