/**
 * Excel connector throughput against exceljs itself, on the same workbook in the same process.
 * Read: ergon-rx (ExcelConnector under `consume`, a no-op async handler, every row acked, so
 * every row is recorded in the side ledger: a SHA-256 of the row's cells and a JSON line per
 * row, appended once per settled burst) against raw exceljs `WorkbookReader` loops over the
 * same sheet that do the rest of the same job: every row's cells converted to typed values
 * as the connector converts them (a formula's result, rich text's text, '' as null; empty rows
 * skipped), an object of them by header name, and `await` of an async no-op handler per row,
 * one row at a time; they keep no progress at all (a restart reads everything again). The
 * first raw loop is exceljs' documented one (`for await` over the worksheet's rows, one async
 * generator step per row); the second reads the worksheet's event chunks
 * (`WorksheetReader.parse()`, the typed API the connector reads through), a cheaper loop over
 * the same rows. Write: `ExcelConnector.dispatch` of the rows in one batch against exceljs
 * writing the same rows with `Workbook.xlsx.writeFile` once. Every contender runs one untimed
 * warm-up round, then `rounds` timed ones (median).
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

type Typed = string | number | boolean | Date | null;

/** A cell's value as the connector hands it out (its `plainCell`, without the error cases). */
function typed(value: ExcelJS.CellValue): Typed {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value;
  if ('richText' in value) return value.richText.map((run) => run.text).join('');
  if ('formula' in value || 'sharedFormula' in value) return typed(value.result);
  if ('hyperlink' in value) return value.text;
  throw new Error(`a cell of an unexpected kind: ${JSON.stringify(value)}`);
}

/** What the raw loops do with each row: typed cells by header name, then the no-op handler. */
class RawRows {
  private names: string[] = [];
  done = 0;

  async row(sheetRow: { number: number; values: unknown }): Promise<void> {
    const values = sheetRow.values as ExcelJS.CellValue[];
    if (sheetRow.number === 1) {
      this.names = values.map(String);
      return;
    }
    const record: Record<string, Typed> = {};
    let empty = true;
    for (let column = 1; column < this.names.length; column++) {
      const value = typed(values[column]);
      if (value !== null) empty = false;
      record[this.names[column] as string] = value;
    }
    if (empty) return;
    await noop();
    this.done++;
  }
}

function rawReader(): ExcelJS.stream.xlsx.WorkbookReader {
  return new ExcelJS.stream.xlsx.WorkbookReader(source, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
  });
}

/** exceljs' documented loop: one `for await` step per row. */
async function rawRead(): Promise<number> {
  const rows = new RawRows();
  for await (const sheet of rawReader()) {
    for await (const sheetRow of sheet) await rows.row(sheetRow);
  }
  return rows.done;
}

/** The same over the worksheet's event chunks (`parse()`), as the connector reads. */
async function rawReadChunks(): Promise<number> {
  const rows = new RawRows();
  for await (const sheet of rawReader()) {
    const chunks = sheet.parse() as AsyncIterator<{ eventType: string; value: ExcelJS.Row }[]>;
    for (let chunk = await chunks.next(); chunk.done !== true; chunk = await chunks.next()) {
      for (const { eventType, value } of chunk.value) {
        if (eventType === 'row') await rows.row(value);
      }
    }
  }
  return rows.done;
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
      'raw exceljs read (WorksheetReader.parse() chunks, row objects)': everyRow(rawReadChunks),
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
