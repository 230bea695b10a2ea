/**
 * The engine and what a user would write instead, each running N transactions through a
 * handler ({@link Workload}) at a given concurrency: ergon-rx `consume` over the memory
 * connector (lazy generator source, settlements counted, not recorded: its defaults), a raw promise pool,
 * p-queue, and a naive RxJS `mergeMap`. With `latency`, each records fetch-to-settle (ergon-rx,
 * through a {@link LatencyConnector}) or take-to-completion (baselines) per transaction.
 */
import PQueue from 'p-queue';
import { from, lastValueFrom, mergeMap } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  type Connector,
  type Logger,
  type LoopMode,
  type Transaction,
} from 'ergon-rx';
import { LatencyConnector } from './latency-connector.js';
import { LatencyRecorder } from './latency-recorder.js';
import { secondsSince, type RunResult } from './run-result.js';
import { withRetries, workloadHandler, type Workload } from './workload.js';

/** One run of a baseline. */
export interface EngineRun {
  readonly count: number;
  readonly concurrency: number;
  readonly workload: Workload;
  /** Record per-transaction latency (costs two clock reads per transaction). */
  readonly latency: boolean;
  /** Attempts per transaction (default 1: no retries). */
  readonly maxAttempts?: number;
}

/** One run of ergon-rx `consume`. */
export interface ErgonRun extends EngineRun {
  readonly mode: LoopMode;
  /**
   * The task's logger: `default` (loglevel `ergon.<task>`, which warns with the error's stack
   * on every failed attempt) or `silent` (drops everything, as the baselines log nothing).
   */
  readonly logging?: 'default' | 'silent';
  /** Give transactions a key (`payload % keys`): order per key, `keys` keys active at once. */
  readonly keys?: number;
}

const silent: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

function* payloads(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

function check(name: string, done: number, count: number): void {
  if (done !== count) throw new Error(`${name}: finished ${done} of ${count}`);
}

export async function ergonConsume(run: ErgonRun): Promise<RunResult> {
  const memory = new MemoryConnector({ source: payloads(run.count) });
  const recorder = run.latency ? new LatencyRecorder(run.count) : null;
  const connector: Connector<number> =
    recorder === null ? memory : new LatencyConnector(memory, recorder);
  const handler = workloadHandler(run.workload);
  const keys = run.keys;
  // The key names exist already, as a field of a payload would: the key function only picks one.
  const keyNames = Array.from({ length: keys ?? 0 }, (_, index) => `key-${index}`);
  const task = consumerTask<number>({
    ...(keys === undefined
      ? {}
      : { key: (transaction: Transaction<number>) => keyNames[transaction.payload % keys] }),
    process: (transaction, { attempt }) => handler(transaction.payload, attempt),
    ...(run.logging === 'silent' ? { logger: silent } : {}),
  });
  let outcomes = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    consume(connector, task, {
      loop: { mode: run.mode, concurrency: { value: run.concurrency } },
      process: { retry: { maxAttempts: run.maxAttempts ?? 1, backoff: 0 } },
      transactionRuntime: { timeout: 60_000 },
    }).subscribe({ next: () => outcomes++, error: reject, complete: resolve });
  });
  const seconds = secondsSince(started);
  check(
    `ergon-rx ${run.mode}${keys === undefined ? '' : ' keyed'}`,
    Math.min(outcomes, memory.counts.ack),
    run.count,
  );
  return { count: run.count, seconds, latency: recorder?.summary() ?? null };
}

export async function promisePool(run: EngineRun): Promise<RunResult> {
  const source = payloads(run.count);
  const handler = withRetries(workloadHandler(run.workload), run.maxAttempts ?? 1);
  const recorder = run.latency ? new LatencyRecorder(run.count) : null;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let step = source.next(); step.done !== true; step = source.next()) {
      const taken = performance.now();
      await handler(step.value);
      recorder?.record(performance.now() - taken);
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: run.concurrency }, worker));
  const seconds = secondsSince(started);
  check('promise pool', done, run.count);
  return { count: run.count, seconds, latency: recorder?.summary() ?? null };
}

export async function pQueue(run: EngineRun): Promise<RunResult> {
  const queue = new PQueue({ concurrency: run.concurrency });
  const handler = withRetries(workloadHandler(run.workload), run.maxAttempts ?? 1);
  const recorder = run.latency ? new LatencyRecorder(run.count) : null;
  let done = 0;
  const started = performance.now();
  for (let n = 0; n < run.count; n++) {
    void queue.add(async () => {
      const taken = performance.now();
      await handler(n);
      recorder?.record(performance.now() - taken);
      done++;
    });
  }
  await queue.onIdle();
  const seconds = secondsSince(started);
  check('p-queue', done, run.count);
  return { count: run.count, seconds, latency: recorder?.summary() ?? null };
}

export async function naiveMergeMap(run: EngineRun): Promise<RunResult> {
  const handler = withRetries(workloadHandler(run.workload), run.maxAttempts ?? 1);
  const recorder = run.latency ? new LatencyRecorder(run.count) : null;
  let done = 0;
  const started = performance.now();
  await lastValueFrom(
    from(payloads(run.count)).pipe(
      mergeMap(async (n) => {
        const taken = performance.now();
        await handler(n);
        recorder?.record(performance.now() - taken);
        done++;
      }, run.concurrency),
    ),
    { defaultValue: undefined },
  );
  const seconds = secondsSince(started);
  check('naive mergeMap', done, run.count);
  return { count: run.count, seconds, latency: recorder?.summary() ?? null };
}
