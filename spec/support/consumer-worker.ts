/**
 * The child side of the multi-process specs (their fixtures' worker scripts): the task that
 * records what a worker processed, and the two ways a worker consumes, until its source is
 * empty or until SIGTERM. The parent side is worker-process.ts.
 */
import { appendFileSync } from 'node:fs';
import { lastValueFrom, Subject } from 'rxjs';
import {
  consume,
  consumerTask,
  type Connector,
  type ConsumerPolicyInput,
  type ConsumerTask,
  type Transaction,
} from '../../lib/index.js';

/** A connector a worker closes once its run is over. */
type ClosingConnector = Connector & { close(): Promise<void> };

/** A task appending each transaction's id to `idsFile` (a line) and then waiting `processMs`. */
export function recordThenWait(idsFile: string, processMs: number): ConsumerTask {
  return consumerTask({
    process: async (tx: Transaction) => {
      appendFileSync(idsFile, `${tx.id}\n`);
      await new Promise((resolve) => setTimeout(resolve, processMs));
    },
  });
}

/**
 * Consumes `connector` with `task` in continuous mode (`concurrency` at once) until a fetch
 * finds nothing, closes it and prints `done`.
 */
export async function consumeUntilEmpty(
  connector: ClosingConnector,
  task: ConsumerTask,
  concurrency: number,
): Promise<void> {
  await lastValueFrom(
    consume(connector, task, { loop: { mode: 'continuous', concurrency: { value: concurrency } } }),
    { defaultValue: undefined },
  );
  await connector.close();
  process.stdout.write('done\n');
}

/**
 * Consumes `connector` with `task` under `policy` until the process gets SIGTERM (the run's
 * `stop$`), then closes it; a run that fails is printed and sets exit code 1.
 */
export function consumeUntilSigterm<P, R>(
  connector: Connector<P> & { close(): Promise<void> },
  task: ConsumerTask<P, R>,
  policy: ConsumerPolicyInput,
): void {
  const stop$ = new Subject<void>();
  process.once('SIGTERM', () => stop$.next());
  consume(connector, task, policy, { stop$ }).subscribe({
    error: (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
    complete: () => void connector.close(),
  });
}
