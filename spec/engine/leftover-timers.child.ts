/**
 * Child process of `leftover-timers.process.spec.ts`: runs every public operator once to
 * its end (each with long timeouts, backoffs and budgets armed on the way), and after each
 * prints `LEFT <operator> <json>` with the resources still keeping node alive, then
 * `ALL DONE` and returns. The parent checks that nothing is left and that the process exits
 * promptly.
 */
import { firstValueFrom, from, lastValueFrom, NEVER, Subject, timer, toArray } from 'rxjs';
import {
  attempt,
  consume,
  consumerTask,
  createDispatcher,
  createTransaction,
  dispatchTo,
  MemoryConnector,
  processWith,
  produce,
  producerTask,
  runTransaction,
  runTransactionById,
  type Connector,
  type DispatchContext,
  type Transaction,
} from '../../lib/index.js';

const long = { maxAttempts: 3, timeout: 60_000, backoff: 60_000 };
const task = consumerTask({
  process: (tx: Transaction<number>) => Promise.resolve(tx.payload),
  onSuccess: () => undefined,
});
const consumerPolicy = {
  loop: { timeout: 120_000 },
  transactionRuntime: { timeout: 60_000 },
  process: { retry: long },
  success: { retry: long },
};
const txs = (): Transaction<number>[] => [1, 2, 3].map((n) => createTransaction(n));

/** A dispatch that takes 30 ms whatever its signal says: its 10 ms attempts time out. */
const slowDispatch: Connector<number> = {
  fetch: () => NEVER,
  dispatch: (_batch, _context?: DispatchContext) =>
    new Promise<void>((resolve) => {
      setTimeout(resolve, 30);
    }),
};

const operators: Record<string, () => Promise<unknown>> = {
  consume: () =>
    lastValueFrom(consume(new MemoryConnector({ source: [1, 2, 3] }), task, consumerPolicy)),
  'consume (streaming, stopped by stop$)': () => {
    const stop$ = new Subject<void>();
    const run = lastValueFrom(
      consume(
        new MemoryConnector<number>({ source: [1] }),
        task,
        { ...consumerPolicy, loop: { ...consumerPolicy.loop, streaming: true } },
        { stop$ },
      ),
    );
    setTimeout(() => stop$.next(), 50);
    return run;
  },
  'consume (unsubscribed while a handler hangs)': async () => {
    const hung = consumerTask({ process: () => new Promise<never>(() => undefined) });
    const subscription = consume(
      new MemoryConnector({ source: [1] }),
      hung,
      consumerPolicy,
    ).subscribe();
    await firstValueFrom(timer(20));
    subscription.unsubscribe();
  },
  processWith: () => lastValueFrom(from(txs()).pipe(processWith(task, consumerPolicy), toArray())),
  runTransaction: () => lastValueFrom(runTransaction(task, createTransaction(1), consumerPolicy)),
  runTransactionById: () => {
    const memory = new MemoryConnector<number>();
    const [fed] = memory.feed(1);
    return lastValueFrom(runTransactionById(memory, task, (fed as Transaction<number>).id));
  },
  attempt: () => lastValueFrom(attempt(() => Promise.resolve(1), long)),
  produce: () =>
    lastValueFrom(
      from([1, 2, 3]).pipe(
        produce(
          new MemoryConnector<number>(),
          producerTask({ prepare: (tx: Transaction<number>) => Promise.resolve(tx.payload) }),
          {
            loop: { timeout: 120_000, batch: { size: 2, maxWait: 1_000 } },
            transactionRuntime: { timeout: 60_000 },
            prepare: { retry: long },
            dispatch: { retry: long },
          },
        ),
        toArray(),
      ),
    ),
  dispatchTo: () =>
    lastValueFrom(
      from(txs()).pipe(
        dispatchTo(new MemoryConnector<number>(), { batch: 2, maxWait: 1_000, retry: long }),
        toArray(),
      ),
    ),
  'dispatchTo (an attempt timed out, then succeeded late)': () =>
    lastValueFrom(
      from(txs()).pipe(
        dispatchTo(slowDispatch, { retry: { maxAttempts: 3, timeout: 10, backoff: 60_000 } }),
        toArray(),
      ),
    ),
  createDispatcher: () =>
    lastValueFrom(
      createDispatcher(new MemoryConnector<number>(), { maxWait: 1_000, retry: long }).send(txs()),
    ),
};

const only = process.argv[2];
for (const [name, run] of Object.entries(operators)) {
  if (only !== undefined && only !== name) continue;
  await run();
  // Let whatever the run scheduled at its end take its turn before looking.
  await new Promise((resolve) => setImmediate(resolve));
  // stdout and stderr (pipes to the parent) are not ours.
  const left = process
    .getActiveResourcesInfo()
    .filter((type) => type !== 'TTYWrap' && type !== 'PipeWrap');
  console.log(`LEFT ${name} ${JSON.stringify(left)}`);
}
console.log('ALL DONE');
