/**
 * Order per key across workers: account movements in one PostgreSQL queue, consumed by two
 * workers at once, each account's movements applied one at a time and in the order they were
 * dispatched, whichever worker takes them.
 *
 * The key travels as `metadata.key`: `dispatch` stores it in the row's `key` column, and the
 * claim hands out a keyed row only when it is the oldest of its key still in the table, so no
 * two workers ever hold two movements of one account. `consumerTask({ key: queueKey })` keeps
 * the same order inside each worker. Here the two workers are two connectors in one process;
 * in production they are separate processes (or machines) running the same code.
 *
 * Needs PostgreSQL on 127.0.0.1:5432 (database `test`, trust auth; ERGON_POSTGRES_URL
 * overrides). Run: npx tsx examples/postgres-keyed.ts [movements per account]
 */
import { randomBytes } from 'node:crypto';
import { lastValueFrom, merge, Subject, tap } from 'rxjs';
import { consume, consumerTask, createTransaction, type Transaction } from '../lib/index.js';
import { PostgresConnector, queueKey } from '../lib/connectors/postgres/index.js';

interface Movement {
  readonly account: string;
  readonly sequence: number;
  readonly cents: number;
}

const url = process.env['ERGON_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const perAccount = Number(process.argv[2] ?? 10);
const accounts = ['alice', 'bob', 'carol', 'dave', 'erin'];
const table = `example_movements_${randomBytes(3).toString('hex')}`;

const worker = (name: string): PostgresConnector<Movement> =>
  new PostgresConnector<Movement>({
    connection: { url, applicationName: `example-${name}` },
    table,
    fetchWait: '200ms',
  });
const [first, second] = [worker('first'), worker('second')];
await first.migrate(); // creates the table (with its key and seq columns) if missing

// Something upstream dispatches the movements: metadata.key names the account.
const movements = Array.from({ length: perAccount }, (_, sequence) =>
  accounts.map((account) =>
    createTransaction<Movement>(
      { account, sequence, cents: (sequence % 3) * 100 - 50 },
      { id: `${account}-${sequence}`, metadata: { key: account } },
    ),
  ),
).flat();
await first.dispatch(movements);

// Both workers run the same task: apply a movement to its account's balance.
const applied = new Map<string, { worker: string; sequence: number }[]>();
const balances = new Map<string, number>();
const task = (name: string) =>
  consumerTask({
    name: 'apply-movement',
    key: queueKey, // metadata.key: one movement per account at a time, in order
    process: async (tx: Transaction<Movement>) => {
      const { account, sequence, cents } = tx.payload;
      applied.set(account, [...(applied.get(account) ?? []), { worker: name, sequence }]);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10)); // the real work
      balances.set(account, (balances.get(account) ?? 0) + cents);
    },
  });

const stop$ = new Subject<void>();
const policy = {
  loop: { mode: 'continuous' as const, concurrency: { value: 4 }, streaming: true },
};
let done = 0;
await lastValueFrom(
  merge(
    consume(first, task('first'), policy, { stop$ }),
    consume(second, task('second'), policy, { stop$ }),
  ).pipe(
    tap((outcome) => outcome.status === 'success' && ++done === movements.length && stop$.next()),
  ),
  { defaultValue: undefined },
);
await first.service.pool.query(`DROP TABLE "${table}", "${table}_dead"`);
await Promise.all([first.close(), second.close()]);

let inOrder = true;
for (const account of accounts) {
  const steps = applied.get(account) ?? [];
  const sequences = steps.map((step) => step.sequence);
  const ordered = sequences.every((sequence, index) => sequence === index);
  inOrder &&= ordered && sequences.length === perAccount;
  const workers = new Set(steps.map((step) => step.worker));
  console.log(
    `${account.padEnd(6)} ${sequences.join(' ')}  by ${[...workers].join(' and ')}, balance ${balances.get(account) ?? 0} cents`,
  );
}
console.log(
  inOrder
    ? `${movements.length} movements applied, every account in order`
    : 'an account was applied out of order',
);
process.exitCode = inOrder ? 0 : 1;
