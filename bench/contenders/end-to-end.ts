/**
 * Produce + consume through a broker, end to end: a producer sends N transactions in batches
 * while a consumer takes and acknowledges them; the clock runs from the start of both to the
 * moment the N-th was acknowledged and the producer was done.
 */
import { lastValueFrom, map, range, reduce } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  dispatchTo,
  type Connector,
  type LoopMode,
} from 'ergon-rx';
import { LatencyConnector } from './latency-connector.js';
import { LatencyRecorder } from './latency-recorder.js';
import { secondsSince, type RunResult } from './run-result.js';
import { successes } from './successes.js';

/** The handler of every consumer: an `async` function that returns at once. */
export const noop = async (): Promise<void> => {};

/** One end-to-end run of a baseline (a raw driver or a peer library). */
export interface EndToEndRun {
  readonly count: number;
  /** Messages in flight on the consumer side (prefetch, batch size, worker concurrency). */
  readonly concurrency: number;
  /** Messages per producer batch (one pipeline, bulk insert or confirm wait each). */
  readonly dispatchBatch: number;
}

/** One end-to-end run of ergon-rx. */
export interface ErgonEndToEndRun extends EndToEndRun {
  readonly mode: LoopMode;
}

/** The payload every contender sends. */
export interface BenchPayload {
  readonly n: number;
}

/** Runs `produce` and `consume` together; resolves with the seconds until both finished. */
export async function timeTogether(
  produce: () => Promise<void>,
  consume: () => Promise<void>,
): Promise<number> {
  const started = performance.now();
  await Promise.all([produce(), consume()]);
  return secondsSince(started);
}

/**
 * ergon-rx end to end: `dispatchTo(producer, { batch })` from a range of payloads, and
 * `consume(consumer, …)` (a no-op handler, a streaming loop limited to `count`) with
 * fetch-to-settle latency recorded through a {@link LatencyConnector}. Both connectors point
 * at the same queue; the caller creates and closes them.
 */
export async function ergonEndToEnd(
  producer: Connector<BenchPayload>,
  consumer: Connector<BenchPayload>,
  run: ErgonEndToEndRun,
): Promise<RunResult> {
  const recorder = new LatencyRecorder(run.count);
  let failed = 0;
  let outcomes = 0;
  const seconds = await timeTogether(
    async () => {
      failed = await lastValueFrom(
        range(0, run.count).pipe(
          map((n) => createTransaction<BenchPayload>({ n }, { id: `tx-${n}` })),
          dispatchTo(producer, { batch: run.dispatchBatch, maxWait: 5 }),
          reduce((sum, receipt) => sum + receipt.failed.length, 0),
        ),
      );
    },
    async () => {
      outcomes = await successes(
        consume(new LatencyConnector(consumer, recorder), consumerTask({ process: noop }), {
          loop: {
            mode: run.mode,
            concurrency: { value: run.concurrency },
            limit: run.count,
            streaming: true,
          },
          fetch: { batch: { size: run.concurrency }, empty: { backoff: 1, backoffCap: 10 } },
        }),
      );
    },
  );
  if (failed > 0 || outcomes !== run.count) {
    throw new Error(`ergon-rx: ${failed} failed dispatches, ${outcomes} of ${run.count} outcomes`);
  }
  return { count: run.count, seconds, latency: recorder.summary() };
}
