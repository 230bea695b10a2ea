import { setTimeout as sleep } from 'node:timers/promises';
import { delay, interval, map, of, Subject, take } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  redriveOfKey,
  type Transaction,
} from '../../../lib/index.js';
import type { DashboardConfigInput } from '../../../lib/runner/index.js';
import { defineTask, runTask, type ExitCodeValue } from '../../../lib/runner/index.js';
import { freePort } from '../../support/free-port.js';

/** An order as the dashboard specs' task sees it. */
interface Order {
  readonly n: number;
}

/** A task running in this process with its dashboard on, fed `perTick` orders every 50 ms. */
export interface DashboardTask {
  readonly port: number;
  readonly url: string;
  readonly connector: MemoryConnector<Order>;
  /** Ids of redriven transactions that were processed (a redriven order succeeds). */
  readonly redrivenDone: readonly string[];
  /** Stops feeding and the run (graceful), resolves its exit code. */
  readonly stop: () => Promise<ExitCodeValue>;
}

/**
 * Every `failEvery`-th order fails with "card declined for order N" (dead-lettered); once
 * redriven, it succeeds. `dashboard` adds to the dashboard's settings.
 */
export async function startDashboardTask(
  options: {
    readonly failEvery?: number;
    readonly perTick?: number;
    readonly name?: string;
    readonly dashboard?: Omit<DashboardConfigInput, 'port'>;
  } = {},
): Promise<DashboardTask> {
  const { failEvery = 7, perTick = 3, name = 'dashboard-orders' } = options;
  const redrivenDone: string[] = [];
  const port = await freePort();
  const connector = new MemoryConnector<Order>({ idPrefix: `${name}-` });
  const stop$ = new Subject<void>();
  let n = 0;
  const feeding = interval(50)
    .pipe(take(10_000))
    .subscribe(() => {
      for (let i = 0; i < perTick; i++) connector.feed({ n: n++ });
    });
  const charge = consumerTask({
    name: 'charge',
    process: (tx: Transaction<Order>) =>
      of(tx.payload.n).pipe(
        delay(2 + (tx.payload.n % 20)),
        map((order) => {
          if (tx.metadata[redriveOfKey] !== undefined) {
            redrivenDone.push(tx.id);
          } else if (order % failEvery === failEvery - 1) {
            throw new Error(`card declined for order ${order}`);
          }
          return order;
        }),
      ),
  });
  const running = runTask(
    defineTask({
      name,
      connectors: { orders: () => connector },
      dashboard: { port, traceLink: 'http://jaeger.test/trace/{traceId}', ...options.dashboard },
      logLevel: 'warn',
      run: ({ connectors }) =>
        consume(
          connectors.orders,
          charge,
          {
            loop: { mode: 'continuous', concurrency: { value: 4 }, streaming: true },
            fetch: { empty: { backoff: 20, backoffCap: 50 } },
          },
          { stop$ },
        ),
    }),
    { signals: false },
  );
  const url = `http://127.0.0.1:${port}/`;
  // The runner listens once telemetry is set up: wait for its first answer.
  for (let i = 0; ; i++) {
    try {
      await fetch(`${url}healthz`);
      break;
    } catch (error) {
      if (i === 100) throw error;
      await sleep(50);
    }
  }
  return {
    port,
    url,
    connector,
    redrivenDone,
    stop: async () => {
      feeding.unsubscribe();
      stop$.next();
      return running;
    },
  };
}
