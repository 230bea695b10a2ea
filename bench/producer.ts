/**
 * Producer throughput: N transactions through `produce` into the memory connector with batches
 * of 100, against a hand-written `bufferCount` + promise loop doing the same dispatches, in one
 * process, on the built `dist/`.
 *
 * Usage: npm run bench:producer [-- count]
 */
import { bufferCount, concatMap, lastValueFrom, map, range } from 'rxjs';
import {
  createTransaction,
  MemoryConnector,
  produce,
  producerTask,
  type Transaction,
} from 'ergon-rx';

const batch = 100;

function connector(): MemoryConnector<number> {
  return new MemoryConnector<number>();
}

async function runErgon(count: number): Promise<number> {
  const sink = connector();
  let outcomes = 0;
  await new Promise<void>((resolve, reject) =>
    range(0, count)
      .pipe(
        produce(sink, producerTask<number>(), {
          loop: { concurrency: { value: 64 }, batch: { size: batch, maxWait: 50 } },
          transactionRuntime: { timeout: 60_000 },
        }),
      )
      .subscribe({ next: () => outcomes++, error: reject, complete: resolve }),
  );
  if (outcomes !== count || sink.dispatchCount !== Math.ceil(count / batch)) {
    throw new Error(`produce: ${outcomes} outcomes, ${sink.dispatchCount} dispatches`);
  }
  return outcomes;
}

async function runHandWritten(count: number): Promise<number> {
  const sink = connector();
  let sent = 0;
  await lastValueFrom(
    range(0, count).pipe(
      map((n) => createTransaction(n)),
      bufferCount(batch),
      concatMap(async (transactions: Transaction<number>[]) => {
        const report = await Promise.resolve(sink.dispatch(transactions));
        sent += transactions.length - report.failed.length;
      }),
    ),
    { defaultValue: undefined },
  );
  return sent;
}

async function time(run: (count: number) => Promise<number>, count: number): Promise<number> {
  const started = process.hrtime.bigint();
  const done = await run(count);
  if (done !== count) throw new Error(`sent ${done} of ${count}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const count = Number(process.argv[2] ?? 200_000);
const contenders = {
  'ergon-rx produce (batch 100)': runErgon,
  'bufferCount(100) + promise loop': runHandWritten,
};
for (const run of Object.values(contenders)) await time(run, 20_000);
const best = new Map<string, number>();
for (let round = 0; round < 5; round++) {
  for (const [name, run] of Object.entries(contenders)) {
    globalThis.gc?.();
    best.set(name, Math.min(best.get(name) ?? Infinity, await time(run, count)));
  }
}
const baseline = best.get('bufferCount(100) + promise loop') as number;
console.log(`${count} transactions into the memory connector, batches of ${batch}, best of 5`);
console.log('| contender | ms | tx/s | time ÷ hand-written |');
console.log('|---|---:|---:|---:|');
for (const [name, ms] of best) {
  console.log(
    `| ${name} | ${ms.toFixed(0)} | ${Math.round((count / ms) * 1000).toLocaleString('en-US')} | ${(ms / baseline).toFixed(2)} |`,
  );
}
