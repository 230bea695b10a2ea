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
import PQueue from 'p-queue';
import { from, lastValueFrom, mergeMap } from 'rxjs';
import { consume, consumerTask, MemoryConnector, type LoopMode } from 'ergon-rx';

const concurrency = 64;
const noop = async (): Promise<void> => {};

function* payloads(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

async function runErgon(mode: LoopMode, count: number): Promise<number> {
  const connector = new MemoryConnector({ source: payloads(count), record: false });
  const task = consumerTask({ process: noop });
  let outcomes = 0;
  await new Promise<void>((resolve, reject) => {
    consume(connector, task, {
      loop: { mode, concurrency: { value: concurrency } },
      transactionRuntime: { timeout: 60_000 },
    }).subscribe({ next: () => outcomes++, error: reject, complete: resolve });
  });
  if (outcomes !== count || connector.counts.ack !== count) {
    throw new Error(`ergon-rx ${mode}: ${outcomes} outcomes, ${connector.counts.ack} acks`);
  }
  return outcomes;
}

async function runNaiveMergeMap(count: number): Promise<number> {
  let done = 0;
  await lastValueFrom(
    from(payloads(count)).pipe(
      mergeMap(async () => {
        await noop();
        done++;
      }, concurrency),
    ),
    { defaultValue: undefined },
  );
  return done;
}

async function runPQueue(count: number): Promise<number> {
  const queue = new PQueue({ concurrency });
  let done = 0;
  for (let i = 0; i < count; i++) {
    void queue.add(async () => {
      await noop();
      done++;
    });
  }
  await queue.onIdle();
  return done;
}

async function runPromisePool(count: number): Promise<number> {
  const source = payloads(count);
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let step = source.next(); step.done !== true; step = source.next()) {
      await noop();
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done;
}

const contenders: Record<string, (count: number) => Promise<number>> = {
  'ergon-rx consume (batch)': (count) => runErgon('batch', count),
  'ergon-rx consume (continuous)': (count) => runErgon('continuous', count),
  'naive mergeMap(…, 64)': runNaiveMergeMap,
  'p-queue (concurrency 64)': runPQueue,
  'raw promise pool (64 workers)': runPromisePool,
};

async function rate(run: (count: number) => Promise<number>, count: number): Promise<number> {
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
const rssContenders: Record<string, (count: number) => Promise<number>> = {
  batch: (count) => runErgon('batch', count),
  continuous: (count) => runErgon('continuous', count),
  'promise-pool': runPromisePool,
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
