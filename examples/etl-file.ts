/**
 * ETL over JSON-lines files: read orders, validate and transform them, write the valid ones to
 * one file and the rejects (with their error) to another. Malformed lines are rejects too.
 * Re-running resumes after the last settled line (see `<input>.cursor`).
 *
 * Run: npx tsx examples/etl-file.ts [input.jsonl] [output-dir]
 * Without arguments it writes a sample input to a temporary directory first. The output
 * directory (and any missing parent) is created by the file connectors as they write.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, reduce } from 'rxjs';
import {
  consume,
  consumerTask,
  createDispatcher,
  createTransaction,
  FileConnector,
  NonRetryableError,
  type OutcomeStatus,
  type Transaction,
} from '../lib/index.js';

interface RawOrder {
  readonly id?: unknown;
  readonly customer?: unknown;
  readonly amount?: unknown;
  readonly currency?: unknown;
}

interface Order {
  readonly id: string;
  readonly customer: string;
  readonly amountCents: number;
  readonly currency: 'EUR' | 'USD';
}

interface Reject {
  readonly source: string;
  readonly error: string;
  readonly input: unknown;
}

function validate(raw: RawOrder): Order {
  const problems: string[] = [];
  if (typeof raw.id !== 'string' || raw.id === '') problems.push('id must be a non-empty string');
  if (typeof raw.customer !== 'string') problems.push('customer must be a string');
  if (typeof raw.amount !== 'number' || !(raw.amount > 0)) problems.push('amount must be > 0');
  if (raw.currency !== 'EUR' && raw.currency !== 'USD')
    problems.push('currency must be EUR or USD');
  if (problems.length > 0) throw new NonRetryableError(problems.join('; '));
  return {
    id: raw.id as string,
    customer: (raw.customer as string).trim().toLowerCase(),
    amountCents: Math.round((raw.amount as number) * 100),
    currency: raw.currency as 'EUR' | 'USD',
  };
}

function sampleInput(directory: string): string {
  const path = join(directory, 'orders.jsonl');
  const lines = [
    '{"id":"o-1","customer":" Ada ","amount":12.5,"currency":"EUR"}',
    '{"id":"o-2","customer":"Grace","amount":-3,"currency":"EUR"}',
    'this line is not JSON',
    '{"id":"o-3","customer":"Linus","amount":99.99,"currency":"USD"}',
    '{"id":"o-4","customer":"Barbara","amount":5,"currency":"GBP"}',
    '{"id":"o-5","customer":"Ken","amount":42,"currency":"USD"}',
  ];
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const outputDirectory = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'ergon-etl-'));
const inputPath = process.argv[2] ?? sampleInput(outputDirectory);
const input = new FileConnector<RawOrder>({ path: inputPath });
const valid = createDispatcher(
  new FileConnector<Order>({ path: join(outputDirectory, 'valid.jsonl') }),
  {
    batch: 100,
    maxWait: 10,
  },
);
const rejects = createDispatcher(
  new FileConnector<Reject>({ path: join(outputDirectory, 'rejects.jsonl') }),
  { batch: 100, maxWait: 10 },
);

const task = consumerTask({
  name: 'orders-etl',
  // Settled (and the cursor advanced) only once the valid record is written.
  process: (tx: Transaction<RawOrder>) => {
    const order = validate(tx.payload);
    return valid.send(createTransaction(order, { id: order.id }));
  },
  // Invalid and malformed lines: written to the rejects file, which handles them.
  onException: (tx, error) =>
    rejects.send(
      createTransaction({ source: tx.id, error: error.message, input: tx.payload }, { id: tx.id }),
    ),
});

const counts = await lastValueFrom(
  consume(input, task, { loop: { concurrency: { value: 8 } } }).pipe(
    reduce(
      (all, outcome) => ({ ...all, [outcome.status]: (all[outcome.status] ?? 0) + 1 }),
      {} as Partial<Record<OutcomeStatus, number>>,
    ),
  ),
  { defaultValue: {} },
);
await input.close();

console.log(`input:   ${inputPath}`);
console.log('outcomes:', counts);
for (const file of ['valid.jsonl', 'rejects.jsonl']) {
  const path = join(outputDirectory, file);
  const text = existsSync(path) ? readFileSync(path, 'utf8').trimEnd() : '(nothing written)';
  console.log(`\n${path}:\n${text}`);
}
