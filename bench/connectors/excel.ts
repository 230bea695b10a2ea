/**
 * Excel connector throughput against exceljs itself, on the same workbook in the same process.
 * Read: ergon-rx (ExcelConnector under `consume`, a no-op async handler, every row acked, so
 * every row is recorded in the side ledger) against a raw exceljs `WorkbookReader` loop that
 * streams the same sheet and builds the same header-named row objects (no progress kept at
 * all). Write: `ExcelConnector.dispatch` of the rows in batches against exceljs writing the
 * same rows with `Workbook.xlsx.writeFile` once. Every contender runs one untimed warm-up
 * round, then `rounds` timed ones (median).
 *
 * Usage: npm run -s build && npx tsc -p tsconfig.bench.json &&
 *        node .bench/connectors/excel.js [rows] [batch]
 */
import ExcelJS from 'exceljs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consume, consumerTask, createTransaction, type LoopMode } from 'ergon-rx';
import { ExcelConnector } from 'ergon-rx/excel';
import { successes } from '../contenders/successes.js';
import { measureRounds, resultTable, type Contender } from './rounds.js';

const rows = Number(process.argv[2] ?? 20_000);
const batch = Number(process.argv[3] ?? 500);
const rounds = 5;
const directory = mkdtempSync(join(tmpdir(), 'ergon-excel-bench-'));
const headers = ['order', 'customer', 'amount', 'paid', 'due'];
let runs = 0;

function row(n: number): Record<string, unknown> {
  return {
    order: `A-${n}`,
    customer: `customer-${n % 97}`,
    amount: 12.5 + n,
    paid: n % 2 === 0,
    due: new Date(Date.UTC(2026, 0, 1 + (n % 365))),
  };
}

async function makeWorkbook(path: string): Promise<void> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('Orders');
  sheet.addRow(headers);
  for (let n = 0; n < rows; n++) sheet.addRow(headers.map((header) => row(n)[header]));
  await book.xlsx.writeFile(path);
}

const source = join(directory, 'source.xlsx');
await makeWorkbook(source);

const noop = async (): Promise<void> => {};

async function ergonRead(mode: LoopMode): Promise<number> {
  const connector = new ExcelConnector({
    path: source,
    sheet: 'Orders',
    ledgerPath: join(directory, `ledger-${++runs}.jsonl`),
  });
  try {
    return await successes(
      consume(connector, consumerTask({ process: noop }), {
        loop: { mode, concurrency: { value: batch } },
        fetch: { batch: { size: batch } },
      }),
    );
  } finally {
    await connector.close();
  }
}

async function rawRead(): Promise<number> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(source, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
  });
  let done = 0;
  for await (const sheet of reader) {
    let names: string[] = [];
    for await (const sheetRow of sheet) {
      const values = sheetRow.values as unknown[];
      if (sheetRow.number === 1) {
        names = values.map(String);
        continue;
      }
      const record: Record<string, unknown> = {};
      for (let column = 1; column < names.length; column++) {
        record[names[column] as string] = values[column] ?? null;
      }
      await noop();
      done++;
    }
  }
  return done;
}

async function ergonWrite(): Promise<number> {
  const connector = new ExcelConnector<Record<string, unknown>>({
    path: join(directory, `out-${++runs}.xlsx`),
    sheet: 'Orders',
  });
  const transactions = Array.from({ length: rows }, (_, n) => createTransaction(row(n)));
  // One dispatch of the whole set (a dispatch rewrites the workbook: batch big).
  await connector.dispatch(transactions);
  await connector.close();
  return rows;
}

async function rawWrite(): Promise<number> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('Orders');
  sheet.addRow(headers);
  for (let n = 0; n < rows; n++) {
    const record = row(n);
    sheet.addRow(headers.map((header) => record[header]));
  }
  await book.xlsx.writeFile(join(directory, `raw-${++runs}.xlsx`));
  return rows;
}

/** A contender timed over the whole of `run`, checked to have handled every row. */
function everyRow(run: () => Promise<number>): Contender {
  return async (watch) => {
    let done = 0;
    await watch.time(async () => {
      done = await run();
    });
    if (done !== rows) throw new Error(`handled ${done} of ${rows} rows`);
  };
}

const options = { count: rows, rounds, warmUp: true, pick: 'median' } as const;
try {
  console.log(
    `${rows} rows × ${headers.length} columns, batch ${batch}, median of ${rounds} after a warm-up round`,
  );
  const rawReadName = 'raw exceljs read (WorkbookReader, row objects)';
  const read = await measureRounds(
    {
      [rawReadName]: everyRow(rawRead),
      'ergon-rx ExcelConnector consume + ack, batch (ledger)': everyRow(() => ergonRead('batch')),
      'ergon-rx ExcelConnector consume + ack, continuous (ledger)': everyRow(() =>
        ergonRead('continuous'),
      ),
    },
    options,
  );
  console.log(`\nread\n${resultTable(read, rawReadName, 'rows')}`);
  const rawWriteName = 'raw exceljs write (Workbook.writeFile)';
  const written = await measureRounds(
    {
      [rawWriteName]: everyRow(rawWrite),
      'ergon-rx ExcelConnector dispatch (atomic rewrite)': everyRow(ergonWrite),
    },
    options,
  );
  console.log(`\nwrite\n${resultTable(written, rawWriteName, 'rows')}`);
} finally {
  rmSync(directory, { recursive: true, force: true });
}
