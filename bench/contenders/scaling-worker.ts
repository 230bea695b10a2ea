/**
 * One worker process of the scaling scenario (started by `scalingWorkers`): says `ready` once
 * loaded (the connector connects on its first fetch, inside the measured time), waits for `go`, then consumes the shared queue with a no-op handler in continuous
 * mode, reporting its successes and CPU time every 20 ms (and once more at the end) until the
 * parent says `stop` (a graceful stop).
 */
import { Subject } from 'rxjs';
import { consume, consumerTask } from 'ergon-rx';
import { PostgresConnector } from 'ergon-rx/postgres';
import { RabbitmqConnector } from 'ergon-rx/rabbitmq';
import { noop, type BenchPayload } from './end-to-end.js';

/** What the parent passes a worker (as its one argument, JSON). */
export interface ScalingWorkerSettings {
  readonly broker: 'rabbitmq' | 'postgres';
  readonly queue: string;
  readonly url: string;
  readonly concurrency: number;
}

/** What a worker tells the parent. */
export type ScalingWorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly done: number; readonly cpu: number };

const settings = JSON.parse(process.argv[2] ?? '{}') as ScalingWorkerSettings;
const connector: RabbitmqConnector<BenchPayload> | PostgresConnector<BenchPayload> =
  settings.broker === 'rabbitmq'
    ? new RabbitmqConnector<BenchPayload>({
        connection: { url: settings.url, connectionName: 'ergon bench' },
        queue: settings.queue,
        queueType: 'classic',
        deadLetter: false,
        prefetch: settings.concurrency,
      })
    : new PostgresConnector<BenchPayload>({
        connection: { url: settings.url, poolSize: 4, applicationName: 'ergon-bench' },
        table: settings.queue,
        fetchWait: 1000,
      });

const send = (message: ScalingWorkerMessage): void => {
  process.send?.(message);
};
const stop$ = new Subject<void>();
let done = 0;
let reported = -1;
let cpuAtStart = process.cpuUsage();
/** Sends the successes so far and the CPU time since `go` (µs), when they changed. */
const report = (): void => {
  if (done === reported) return;
  reported = done;
  const { user, system } = process.cpuUsage(cpuAtStart);
  send({ type: 'progress', done, cpu: user + system });
};

process.on('message', (message) => {
  if (message === 'stop') stop$.next();
  if (message !== 'go') return;
  cpuAtStart = process.cpuUsage();
  const progress = setInterval(report, 20);
  consume(
    connector,
    consumerTask({ process: noop }),
    {
      loop: { mode: 'continuous', concurrency: { value: settings.concurrency }, streaming: true },
      fetch: { empty: { backoff: 1, backoffCap: 10 } },
    },
    { stop$ },
  ).subscribe({
    next: (outcome) => {
      if (outcome.status === 'success') done++;
    },
    error: (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
    complete: () => {
      clearInterval(progress);
      reported = -1;
      report();
      void connector.close().then(() => process.exit(0));
    },
  });
});

send({ type: 'ready' });
