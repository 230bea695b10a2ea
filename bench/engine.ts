/**
 * Engine throughput: N transactions from the memory connector through a no-op async handler
 * at concurrency 64, in one process, against baselines run in the same process. Runs the
 * built `dist/` (see `npm run bench:engine`); tsx-transformed sources distort closures.
 *
 * Usage: node .bench/engine.js [count]                throughput and memory tables
 *        node .bench/engine.js --rss <contender> <n>  one run, prints peak RSS in MiB (child)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoopMode } from 'ergon-rx';
import {
  ergonConsume,
  naiveMergeMap,
  pQueue,
  promisePool,
  type EngineRun,
} from './contenders/engine.js';
import type { Contender } from './contenders/run-result.js';

const concurrency = 64;

/** Runs `count` no-op transactions; resolves with how many finished. */
type Run = (count: number) => Promise<number>;

function noOp(contender: Contender<EngineRun>): Run {
  return async (count) =>
    (await contender({ count, concurrency, workload: { kind: 'no-op' }, latency: false })).count;
}

const ergon = (mode: LoopMode, keys?: number): Run =>
  noOp((run) => ergonConsume({ ...run, mode, keys }));

const contenders: Record<string, Run> = {
  'ergon-rx consume (batch)': ergon('batch'),
  'ergon-rx consume (continuous)': ergon('continuous'),
  'ergon-rx consume (continuous, 64 keys)': ergon('continuous', 64),
  'naive mergeMap(…, 64)': noOp(naiveMergeMap),
  'p-queue (concurrency 64)': noOp(pQueue),
  'raw promise pool (64 workers)': noOp(promisePool),
};

async function rate(run: Run, count: number): Promise<number> {
  const started = process.hrtime.bigint();
  const done = await run(count);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (done !== count) throw new Error(`processed ${done} of ${count}`);
  return count / seconds;
}

async function throughput(count: number): Promise<void> {
  const rounds = 3;
  for (const run of Object.values(contenders)) await rate(run, Math.min(count, 20_000));
  const best = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      globalThis.gc?.();
      best.set(name, Math.max(best.get(name) ?? 0, await rate(run, count)));
    }
  }
  const pqueue = best.get('p-queue (concurrency 64)') as number;
  const naive = best.get('naive mergeMap(…, 64)') as number;
  console.log(
    `${count} transactions, no-op async handler, concurrency ${concurrency}, best of ${rounds}`,
  );
  console.log('| contender | tx/s | × p-queue | × naive mergeMap |');
  console.log('|---|---:|---:|---:|');
  for (const [name, value] of best) {
    console.log(
      `| ${name} | ${Math.round(value).toLocaleString('en-US')} | ${(value / pqueue).toFixed(2)} | ${(value / naive).toFixed(2)} |`,
    );
  }
}

const pinnedYoungGeneration = ['--min-semi-space-size=16', '--max-semi-space-size=16'];
const rssContenders: Record<string, Run> = {
  batch: ergon('batch'),
  continuous: ergon('continuous'),
  'promise-pool': noOp(promisePool),
};

function peakRss(contender: string, count: number, flags: string[]): number {
  const output = execFileSync(
    process.execPath,
    [...flags, fileURLToPath(import.meta.url), '--rss', contender, String(count)],
    { encoding: 'utf8' },
  );
  return Number(output.trim());
}

async function memory(): Promise<void> {
  console.log('\nPeak RSS of one run in a fresh process (MiB)');
  console.log('| run | V8 flags | 200k | 2M | 2M ÷ 200k |');
  console.log('|---|---|---:|---:|---:|');
  for (const [label, flags] of [
    ['default', []],
    ['young generation pinned at 16 MiB', pinnedYoungGeneration],
  ] as const) {
    for (const contender of Object.keys(rssContenders)) {
      const small = peakRss(contender, 200_000, [...flags]);
      const large = peakRss(contender, 2_000_000, [...flags]);
      const name =
        contender === 'promise-pool' ? 'raw promise pool (control)' : `ergon-rx ${contender}`;
      console.log(
        `| ${name} | ${label} | ${small.toFixed(1)} | ${large.toFixed(1)} | ${(large / small).toFixed(2)} |`,
      );
    }
  }
}

const args = process.argv.slice(2);
if (args[0] === '--rss') {
  const run = rssContenders[args[1] as string];
  if (run === undefined) throw new Error(`unknown contender ${args[1]}`);
  await run(Number(args[2]));
  console.log(process.resourceUsage().maxRSS / 1024);
} else {
  await throughput(Number(args[0] ?? 200_000));
  await memory();
}
