// The task every broker fault spec runs, as a real runner process: `runTask` with the
// settings of `ERGON_FAULT_TASK` (see ledger-task-settings.ts). Its handler records each
// processing in the ledger before working, and each settlement once the engine reports it.
// Each worker prints `EVENT ready <workerId> <pid>` when its run starts. The process that
// the spec started dies (SIGKILL, its workers with it) when the spec's end of its stdin
// closes, so a spec process that dies never leaves a task consuming behind it.
import { setTimeout as sleep } from 'node:timers/promises';
import { mergeMap } from 'rxjs';
import { consume, consumerTask, NonRetryableError, type Transaction } from '../../lib/index.js';
import {
  currentWorkerIdentity,
  defineTask,
  runTask,
  type ResourceContext,
} from '../../lib/runner/index.js';
import { openBrokerConnector } from './broker-connector.js';
import { ledgerTaskSettingsFromEnvironment } from './ledger-task-settings.js';
import { ProcessingLedger } from './processing-ledger.js';

if (currentWorkerIdentity() === undefined) {
  process.stdin.once('end', () => process.kill(process.pid, 'SIGKILL'));
  process.stdin.resume();
}

const settings = ledgerTaskSettingsFromEnvironment();
const failIds = new Set(settings.failIds);
const crashIds = new Set(settings.crashIds);
const slowIds = new Set(settings.slowIds ?? []);

const task = defineTask({
  name: 'fault-ledger',
  workers: settings.workers,
  shutdownGrace: '20s',
  supervision: {
    heartbeat: 200,
    wedgedAfter: 10_000,
    startupGrace: 30_000,
    restart: { backoff: 100, backoffCap: 400, maxRestarts: 20 },
  },
  connectors: {
    broker: ({ workerId }: ResourceContext) => openBrokerConnector(settings.endpoint, workerId),
  },
  services: { ledger: () => new ProcessingLedger(settings.ledger) },
  run: ({ connectors, services, stop$, workerId }) => {
    const { ledger } = services;
    const work = consumerTask({
      process: async (tx: Transaction, { signal }) => {
        await ledger.recordProcessing(tx.id);
        if (crashIds.has(tx.id)) process.kill(process.pid, 'SIGKILL');
        if (failIds.has(tx.id)) throw new NonRetryableError(`${tx.id} is poison`);
        const ms = slowIds.has(tx.id)
          ? (settings.slowMs ?? settings.processMs)
          : settings.processMs;
        await sleep(ms, undefined, { signal });
      },
    });
    process.stdout.write(`EVENT ready ${workerId} ${process.pid}\n`);
    return consume(
      connectors.broker,
      work,
      {
        loop: {
          mode: 'continuous',
          concurrency: { value: settings.concurrency },
          streaming: true,
          shutdownGrace: 15_000,
        },
        fetch: { empty: { backoff: 20, backoffCap: 200 } },
        process: { retry: { maxAttempts: 5, backoff: 100 } },
        ...(settings.transactionTimeout === undefined
          ? {}
          : { transactionRuntime: { timeout: settings.transactionTimeout } }),
      },
      { stop$ },
    ).pipe(mergeMap((outcome) => ledger.recordSettlement(outcome)));
  },
});

await runTask(task, { exit: true });
