/**
 * Orders from an Excel sheet: ship each valid row, append it to a "Shipped" workbook, and
 * dead-letter the rows that cannot be shipped (a quantity that is not positive, a cell with
 * an Excel error). Progress is kept in `<input>.ledger.jsonl`: run it again and only rows
 * added or edited since are processed.
 *
 * Run: npx tsx examples/excel-orders.ts [orders.xlsx] [output-dir]
 * Without arguments it writes a sample workbook to a temporary directory first.
 */
import ExcelJS from 'exceljs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, reduce } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  NonRetryableError,
  type OutcomeStatus,
  type Transaction,
} from '../lib/index.js';
import { ExcelConnector, type ExcelRow } from '../lib/connectors/excel/index.js';

interface Order {
  readonly order: string;
  readonly quantity: number;
  readonly due: Date | null;
}

async function sampleWorkbook(path: string): Promise<void> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('Orders');
  sheet.addRow(['Order', 'Quantity', 'Due']);
  sheet.addRow(['A-1', 3, new Date(Date.UTC(2026, 11, 24))]);
  sheet.addRow(['A-2', 0, null]);
  sheet.addRow(['A-3', { formula: '1/0', result: { error: '#DIV/0!' } }, null]);
  sheet.addRow(['A-4', { formula: '2*6', result: 12 }, new Date(Date.UTC(2027, 0, 2))]);
  await book.xlsx.writeFile(path);
}

const directory = mkdtempSync(join(tmpdir(), 'ergon-excel-example-'));
const input = process.argv[2] ?? join(directory, 'orders.xlsx');
const output = process.argv[3] ?? directory;
if (process.argv[2] === undefined) await sampleWorkbook(input);

const orders = new ExcelConnector<Order>({
  path: input,
  sheet: 'Orders',
  idColumn: 'Order',
  parse: (row: ExcelRow) => ({
    order: String(row['Order']),
    quantity: Number(row['Quantity']),
    due: row['Due'] instanceof Date ? row['Due'] : null,
  }),
});
const shipped = new ExcelConnector<Record<string, unknown>>({
  path: join(output, 'shipped.xlsx'),
  sheet: 'Shipped',
});

const task = consumerTask({
  process: (tx: Transaction<Order>) => {
    const { order, quantity, due } = tx.payload;
    if (!(quantity > 0)) throw new NonRetryableError(`order ${order}: quantity ${quantity}`);
    return { order, quantity, due, shippedAt: new Date() };
  },
  onSuccess: async (_tx, shipment) => {
    await shipped.dispatch([createTransaction(shipment, { id: shipment.order })]);
  },
  onException: (tx, error) => {
    console.log(`rejected ${tx.id}: ${error.message}`);
    throw error; // not handled: the row is dead-lettered in the ledger, with this error
  },
});

const counts = await lastValueFrom(
  consume(orders, task, { loop: { concurrency: { value: 4 } } }).pipe(
    reduce(
      (seen, outcome) => ({ ...seen, [outcome.status]: (seen[outcome.status] ?? 0) + 1 }),
      {} as Partial<Record<OutcomeStatus, number>>,
    ),
  ),
);
await Promise.all([orders.close(), shipped.close()]);
console.log(`outcomes ${JSON.stringify(counts)}`);
console.log(`shipped rows in ${join(output, 'shipped.xlsx')}, ledger ${input}.ledger.jsonl`);
