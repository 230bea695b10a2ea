/**
 * The ergon-rx side of the connector scripts: a connector's `consume` with a no-op handler
 * (timed here, for Redis and SQS; or as a {@link ConsumeRun}, for PostgreSQL), and its
 * `dispatch` in batches, each checked and followed (untimed) by the connector's `close`.
 */
import { randomBytes } from 'node:crypto';
import {
  consume,
  consumerTask,
  createTransaction,
  type Connector,
  type DispatchReport,
  type LoopMode,
  type Transaction,
} from 'ergon-rx';
import { successes } from '../contenders/successes.js';
import type { ConsumeRun, Stopwatch } from './rounds.js';

/** A connector closed after its run. */
export interface ClosingConnector extends Connector {
  close(): Promise<void>;
}

/** A connector that also sends. */
export interface BenchConnector extends ClosingConnector {
  dispatch(transactions: readonly Transaction[]): Promise<DispatchReport>;
}

/** `ergon_bench_<prefix>_<8 hex digits>`: a queue or stream name of its own for every run. */
export function uniqueName(prefix: string): string {
  return `ergon_bench_${prefix}_${randomBytes(4).toString('hex')}`;
}

/**
 * Times `consume` of `count` transactions (loop `mode`, concurrency and fetch batch `batch`,
 * `limit: count`, a no-op handler) and then `settled` (what must be done before the clock
 * stops, e.g. NATS's acks flushed), closes the connector, and throws unless all `count`
 * succeeded.
 */
export async function timeErgonConsume(
  connector: BenchConnector,
  mode: LoopMode,
  batch: number,
  count: number,
  watch: Stopwatch,
  settled: () => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const task = consumerTask({ process: () => undefined });
  let outcomes = 0;
  await watch.time(async () => {
    outcomes = await successes(
      consume(connector, task, {
        loop: { mode, concurrency: { value: batch }, limit: count },
        fetch: { batch: { size: batch } },
      }),
    );
    await settled();
  });
  await connector.close();
  if (outcomes !== count) throw new Error(`ergon-rx ${mode}: ${outcomes} outcomes`);
}

/**
 * `consume` over `source` until its queue is empty (loop `mode`, concurrency and fetch batch
 * `batch`, a no-op async handler), as a run for `consumeContender` (which times and checks it);
 * closing it closes `source`.
 */
export function ergonConsumeRun(
  source: ClosingConnector,
  mode: LoopMode,
  batch: number,
): ConsumeRun {
  const handler = async (): Promise<void> => {};
  return {
    consume: () =>
      successes(
        consume(source, consumerTask({ process: handler }), {
          loop: { mode, concurrency: { value: batch } },
          fetch: { batch: { size: batch } },
        }),
      ),
    close: () => source.close(),
  };
}

/**
 * Times `dispatch` of `count` transactions (`{ n }`, id `tx-<n>`) in batches of `batch`, one
 * after another, closes the connector, and throws when a transaction failed.
 */
export async function timeErgonDispatch(
  connector: BenchConnector,
  batch: number,
  count: number,
  watch: Stopwatch,
): Promise<void> {
  await watch.time(async () => {
    for (let start = 0; start < count; start += batch) {
      const transactions = [];
      for (let i = start; i < Math.min(count, start + batch); i++) {
        transactions.push(createTransaction({ n: i }, { id: `tx-${i}` }));
      }
      const report = await connector.dispatch(transactions);
      if (report.failed.length > 0) throw new Error('dispatch failed');
    }
  });
  await connector.close();
}
