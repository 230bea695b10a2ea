/**
 * A task run by `runTask` in a child process against a real RabbitMQ queue, for the engine
 * fault specs. Usage: `node --import tsx rabbitmq-runner-task.ts '<RunnerTaskSettings JSON>'`.
 *
 * Every payload is `{ n }`. The journal file gets `start <n>` when a handler starts on a
 * delivery (written synchronously, so it survives whatever happens next) and
 * `outcome <n> <status> <epoch ms>` for every outcome the run emits.
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tap } from 'rxjs';
import { consume, consumerTask, NonRetryableError, type Transaction } from '../../../lib/index.js';
import { RabbitmqConnector } from '../../../lib/connectors/rabbitmq/index.js';
import { defineTask } from '../../../lib/runner/define-task.js';
import { runTask } from '../../../lib/runner/run-task.js';
import { parseRunnerTaskSettings, type RunnerTaskSettings } from './runner-task-settings.js';

interface Order {
  readonly n: number;
}

const settings: RunnerTaskSettings = parseRunnerTaskSettings(process.argv[2]);
const journal = (line: string): void => appendFileSync(settings.journal, `${line}\n`);

/** The scenario's handler misbehaviour for delivery `n`, if any. */
function misbehave(n: number): Promise<unknown> | undefined {
  switch (settings.scenario) {
    case 'hang':
      // Ignores its signal on purpose: only the engine's timeout can take the slot back.
      return settings.faulty.includes(n) ? new Promise<never>(() => undefined) : undefined;
    case 'leaked-rejection':
      if (settings.faulty.includes(n)) void Promise.reject(new Error(`forgotten promise of ${n}`));
      return undefined;
    case 'escaped-throw':
      if (settings.faulty.includes(n)) {
        setTimeout(() => {
          throw new Error(`thrown in a timer callback of ${n}`);
        }, 0);
      }
      return undefined;
    case 'slow-exception':
      return Promise.reject(new NonRetryableError(`order ${n} is refused`));
  }
}

const task = consumerTask({
  name: `fault-${settings.scenario}`,
  process: async (tx: Transaction<Order>) => {
    journal(`start ${tx.payload.n}`);
    await misbehave(tx.payload.n);
    await sleep(settings.workMs);
    return tx.payload.n;
  },
  ...(settings.scenario === 'slow-exception'
    ? {
        onException: async (tx: Transaction<Order>) => {
          journal(`exception ${tx.payload.n}`);
          await sleep(settings.exceptionMs);
        },
      }
    : {}),
});

const definition = defineTask({
  name: `fault-${settings.scenario}`,
  shutdownGrace: settings.graceMs + 2000,
  connectors: {
    orders: () =>
      new RabbitmqConnector<Order>({
        connection: { url: settings.url, connectionName: 'ergon fault worker' },
        queue: settings.queue,
        fetchWait: 1000,
      }),
  },
  run: ({ connectors, stop$ }) => {
    return consume(
      connectors.orders,
      task,
      {
        loop: {
          mode: 'continuous',
          concurrency: { value: settings.concurrency },
          streaming: true,
          limit: settings.limit,
          shutdownGrace: settings.graceMs,
        },
        process: { retry: { maxAttempts: 1, timeout: settings.timeoutMs } },
      },
      { stop$ },
    ).pipe(
      tap((outcome) =>
        journal(`outcome ${outcome.transaction.payload.n} ${outcome.status} ${Date.now()}`),
      ),
    );
  },
});

await runTask(definition, { exit: true });
