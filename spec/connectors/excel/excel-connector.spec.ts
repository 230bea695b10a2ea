import { expect } from 'chai';
import ExcelJS from 'exceljs';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  SettlementError,
  TransactionError,
  type Transaction,
} from '../../../lib/index.js';
import {
  ExcelConnector,
  ExcelLedgerError,
  ExcelWorkbookError,
  type ExcelRow,
} from '../../../lib/connectors/excel/index.js';

let directory: string;
let files = 0;

/** Writes a workbook with one sheet per entry, each a list of rows (row 1 first). */
async function workbook(sheets: Record<string, ExcelJS.CellValue[][]>): Promise<string> {
  const book = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) {
    const sheet = book.addWorksheet(name);
    rows.forEach((row, index) => {
      row.forEach((value, column) => {
        if (value !== undefined) sheet.getCell(index + 1, column + 1).value = value;
      });
    });
  }
  const path = join(directory, `book-${++files}.xlsx`);
  await book.xlsx.writeFile(path);
  return path;
}

function fetchAll<P>(connector: ExcelConnector<P>, size = 100): Promise<Transaction<P>[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

async function rejection(promise: Promise<unknown>): Promise<ExcelWorkbookError> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => {
      expect(error).to.be.instanceOf(Error);
      return error as ExcelWorkbookError;
    },
  );
}

const failure = (message: string): SettleDecisionDeadLetter => ({
  type: 'deadLetter',
  error: new TransactionError(message, { category: 'business' }),
});
type SettleDecisionDeadLetter = { type: 'deadLetter'; error: TransactionError };

describe('ExcelConnector', function () {
  this.timeout(20_000);
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'ergon-excel-'));
  });
  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('reads the rows of a sheet as transactions with header-named, typed cells', async () => {
    const when = new Date(Date.UTC(2026, 0, 15, 9, 30));
    const path = await workbook({
      Notes: [['ignored'], ['x']],
      Orders: [
        ['Order', 'Quantity', 'Paid', 'Due', 'Total', 'Note', 'Site', 'Empty'],
        [
          'A-1',
          3,
          true,
          when,
          { formula: 'B2*2', result: 6 },
          { richText: [{ text: 'rush ' }, { font: { bold: true }, text: 'order' }] },
          { text: 'shop', hyperlink: 'https://example.com' },
          null,
        ],
        [],
        ['A-2', 1.5, false, null, { formula: 'B4*2', result: 3 }, '', null],
      ],
    });
    const connector = new ExcelConnector({ path, sheet: 'Orders' });
    const rows = await fetchAll(connector);
    expect(rows.map((tx) => tx.id)).to.deep.equal([
      `${path.split('/').pop() ?? ''}:Orders!2`,
      `${path.split('/').pop() ?? ''}:Orders!4`,
    ]);
    expect(rows[0]?.payload).to.deep.equal({
      Order: 'A-1',
      Quantity: 3,
      Paid: true,
      Due: when,
      Total: 6,
      Note: 'rush order',
      Site: 'shop',
      Empty: null,
    });
    expect(rows[1]?.payload).to.deep.equal({
      Order: 'A-2',
      Quantity: 1.5,
      Paid: false,
      Due: null,
      Total: 3,
      Note: null,
      Site: null,
      Empty: null,
    });
    expect(rows[0]?.metadata).to.deep.equal({ file: path, sheet: 'Orders', row: 2 });
    await connector.close();
  });

  it('records ack, dead letter and release in the ledger, and a restart resumes after the settled rows', async () => {
    const path = await workbook({
      Sheet1: [['n'], [1], [2], [3], [4], [5]],
    });
    const first = new ExcelConnector({ path, idColumn: 'n' });
    const rows = await fetchAll(first, 4);
    expect(rows.map((tx) => tx.id)).to.deep.equal(['1', '2', '3', '4']);
    const [one, two, three] = rows as [
      Transaction<ExcelRow>,
      Transaction<ExcelRow>,
      Transaction<ExcelRow>,
    ];
    await first.settle(one, { type: 'ack' });
    await first.settle(two, failure('no stock'));
    await first.settle(three, { type: 'release', reason: 'shutdown' });
    expect(() => first.settle(one, { type: 'ack' })).to.throw(SettlementError);
    // The released row comes first; row 4 is still out, so it is not handed out again.
    expect((await fetchAll(first, 10)).map((tx) => tx.id)).to.deep.equal(['3', '5']);
    await first.close();
    const ledger = readFileSync(`${path}.ledger.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(ledger.map((entry) => [entry['id'], entry['outcome'], entry['error']])).to.deep.equal([
      ['1', 'ack', undefined],
      ['2', 'deadLetter', 'no stock'],
      ['3', 'release', undefined],
    ]);

    const second = new ExcelConnector({ path, idColumn: 'n' });
    expect((await fetchAll(second, 10)).map((tx) => tx.id)).to.deep.equal(['3', '4', '5']);
    await second.close();
  });

  it('resumes over a ledger an earlier version wrote, and writes lines of the same format', async () => {
    const due = new Date(Date.UTC(2026, 2, 1));
    const path = await workbook({
      Sheet1: [
        ['n', 's', 'paid', 'due', 'note'],
        [1, 'a', true, due, null],
        [2, 'b', false, due, 'x'],
        [3, 'c', true, null, null],
        [4, 'd', false, due, null],
      ],
    });
    // The format ledgers have always had: one JSON line per settlement with its own time, the
    // row hash the SHA-256 (hex) of the cells' fingerprint, made as the first version made it.
    const cells: Record<number, (string | number | boolean | Date | null)[]> = {
      1: [1, 'a', true, due, null],
      2: [2, 'b', false, due, 'x'],
      3: [3, 'c', true, null, null],
      4: [4, 'd', false, due, null],
    };
    const rowHash = (n: number): string =>
      createHash('sha256')
        .update(
          (cells[n] ?? [])
            .map((value) =>
              value instanceof Date
                ? `\u0001d${value.getTime()}`
                : `\u0001${typeof value}${String(value)}`,
            )
            .join(''),
        )
        .digest('hex');
    const old = [
      { sheet: 'Sheet1', row: 2, hash: rowHash(1), outcome: 'ack', id: 'book:Sheet1!2' },
      {
        sheet: 'Sheet1',
        row: 3,
        hash: rowHash(2),
        outcome: 'deadLetter',
        id: 'x',
        error: 'e',
      },
      { sheet: 'Sheet1', row: 4, hash: rowHash(3), outcome: 'release', id: 'y' },
    ].map((entry, n) => `${JSON.stringify({ ...entry, at: `2026-01-0${n + 1}T00:00:00.000Z` })}\n`);
    writeFileSync(`${path}.ledger.jsonl`, old.join(''));
    const connector = new ExcelConnector({ path, idColumn: 'n' });
    const rows = await fetchAll(connector);
    expect(rows.map((tx) => tx.id)).to.deep.equal(['3', '4']);
    const [three, four] = rows as [Transaction<ExcelRow>, Transaction<ExcelRow>];
    await Promise.all([
      connector.settle(three, { type: 'ack' }),
      connector.settle(four, failure('said "no"\non two lines')),
    ]);
    await connector.close();
    const lines = readFileSync(`${path}.ledger.jsonl`, 'utf8').split('\n').slice(3, -1);
    expect(lines).to.have.length(2);
    for (const line of lines) expect(JSON.stringify(JSON.parse(line))).to.equal(line);
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).to.deep.equal(
      [
        { row: 4, hash: rowHash(3), outcome: 'ack', id: '3' },
        {
          row: 5,
          hash: rowHash(4),
          outcome: 'deadLetter',
          id: '4',
          error: 'said "no"\non two lines',
        },
      ].map((entry, n) => ({
        sheet: 'Sheet1',
        ...entry,
        at: (JSON.parse(lines[n] as string) as { at: string }).at,
      })),
    );
    expect(Object.keys(JSON.parse(lines[1] as string) as object)).to.deep.equal([
      'sheet',
      'row',
      'hash',
      'outcome',
      'id',
      'error',
      'at',
    ]);
    const again = new ExcelConnector({ path, idColumn: 'n' });
    expect(await fetchAll(again)).to.deep.equal([]);
    await again.close();
  });

  it('processes a row again when it was edited after it was settled, and reads a replaced workbook anew', async () => {
    const path = await workbook({
      Sheet1: [
        ['name', 'qty'],
        ['a', 1],
        ['b', 2],
      ],
    });
    const connector = new ExcelConnector({ path });
    for (const tx of await fetchAll(connector)) await connector.settle(tx, { type: 'ack' });
    expect(await fetchAll(connector)).to.deep.equal([]);
    // Another program saves a new version: row 3 edited, row 4 added (write + rename, like Excel).
    const edited = await workbook({
      Sheet1: [
        ['name', 'qty'],
        ['a', 1],
        ['b', 20],
        ['c', 3],
      ],
    });
    const { renameSync } = await import('node:fs');
    renameSync(edited, path);
    const again = await fetchAll(connector);
    expect(again.map((tx) => [tx.metadata['row'], tx.payload['qty']])).to.deep.equal([
      [3, 20],
      [4, 3],
    ]);
    await connector.close();
  });

  it('hands out an edited row while its old version is still out, and neither twice', async () => {
    const path = await workbook({
      Sheet1: [
        ['name', 'qty'],
        ['a', 1],
        ['b', 2],
      ],
    });
    const { renameSync } = await import('node:fs');
    const replace = async (qty: number): Promise<void> => {
      renameSync(
        await workbook({
          Sheet1: [
            ['name', 'qty'],
            ['a', 1],
            ['b', qty],
          ],
        }),
        path,
      );
    };
    const connector = new ExcelConnector({ path });
    const [a, b] = (await fetchAll(connector)) as [Transaction<ExcelRow>, Transaction<ExcelRow>];
    await connector.settle(a, { type: 'ack' });
    await replace(20);
    const [edited, ...more] = await fetchAll(connector);
    expect(more).to.deep.equal([]);
    expect(edited?.payload).to.deep.equal({ name: 'b', qty: 20 });
    // Each version is out: reading either again hands out nothing.
    await replace(2);
    expect(await fetchAll(connector)).to.deep.equal([]);
    await replace(20);
    expect(await fetchAll(connector)).to.deep.equal([]);
    await connector.settle(b, { type: 'ack' });
    await replace(2);
    expect(await fetchAll(connector)).to.deep.equal([]);
    await connector.settle(edited as Transaction<ExcelRow>, { type: 'ack' });
    await replace(20);
    expect(await fetchAll(connector)).to.deep.equal([]);
    await connector.close();
  });

  it('appends dispatched rows keeping the header order, adding new columns at the end', async () => {
    const path = join(directory, 'out', 'results.xlsx');
    const sink = new ExcelConnector<unknown>({ path, sheet: 'Results' });
    const when = new Date(Date.UTC(2026, 5, 1));
    await sink.dispatch([
      createTransaction({ order: 'A-1', total: 6 }),
      createTransaction({ total: 3, order: 'A-2' }),
    ]);
    const report = await sink.dispatch([
      createTransaction({ order: 'A-3', shipped: when, tags: ['x', 'y'] }),
      createTransaction('not a row'),
    ]);
    expect(report.failed.map((failed) => failed.transaction.payload)).to.deep.equal(['not a row']);
    const book = new ExcelJS.Workbook();
    await book.xlsx.readFile(path);
    const sheet = book.getWorksheet('Results') as ExcelJS.Worksheet;
    const values = [1, 2, 3, 4].map((n) => (sheet.getRow(n).values as unknown[]).slice(1));
    expect(values).to.deep.equal([
      ['order', 'total', 'shipped', 'tags'],
      ['A-1', 6],
      ['A-2', 3],
      ['A-3', undefined, when, '["x","y"]'],
    ]);
    // It reads back what it wrote.
    const reader = new ExcelConnector({
      path,
      sheet: 'Results',
      ledgerPath: join(directory, 'results.ledger'),
    });
    expect((await fetchAll(reader)).map((tx) => tx.payload['order'])).to.deep.equal([
      'A-1',
      'A-2',
      'A-3',
    ]);
    await Promise.all([sink.close(), reader.close()]);
  });

  it('refuses to rewrite a workbook open in Excel', async () => {
    const path = await workbook({ Sheet1: [['a'], [1]] });
    const lock = join(directory, `~$${path.split('/').pop() ?? ''}`);
    writeFileSync(lock, 'owner');
    const sink = new ExcelConnector({ path });
    const error = await rejection(sink.dispatch([createTransaction({ a: 2 })]));
    expect(error).to.be.instanceOf(ExcelWorkbookError);
    expect(error.message).to.include('is open in Excel');
    rmSync(lock);
    await sink.dispatch([createTransaction({ a: 2 })]);
    await sink.close();
  });

  it('names the file, sheet and cell of bad input', async () => {
    const missingSheet = await workbook({ Data: [['a'], [1]], Other: [['b']] });
    let error = await rejection(
      fetchAll(new ExcelConnector({ path: missingSheet, sheet: 'Orders' })),
    );
    expect(error).to.be.instanceOf(ExcelWorkbookError);
    expect(error.message).to.include('has no sheet "Orders": its sheets are "Data", "Other"');

    const duplicate = await workbook({
      S: [
        ['id', 'name', 'id'],
        [1, 'a', 2],
      ],
    });
    error = await rejection(fetchAll(new ExcelConnector({ path: duplicate })));
    expect(error).to.be.instanceOf(ExcelWorkbookError);
    expect(error.where).to.deep.equal({ sheet: 'S', cell: 'C1' });
    expect(error.message).to.include('A1 and C1');

    const gap = await workbook({
      S: [
        ['id', null, 'name'],
        [1, 2, 'a'],
      ],
    });
    error = await rejection(fetchAll(new ExcelConnector({ path: gap })));
    expect(error.where).to.deep.equal({ sheet: 'S', cell: 'B1' });

    const corrupt = join(directory, 'corrupt.xlsx');
    writeFileSync(corrupt, 'id,name\n1,a\n');
    error = await rejection(fetchAll(new ExcelConnector({ path: corrupt })));
    expect(error).to.be.instanceOf(ExcelWorkbookError);
    expect(error.message).to.include('cannot be read as an .xlsx workbook');

    error = await rejection(fetchAll(new ExcelConnector({ path: join(directory, 'absent.xlsx') })));
    expect(error.message).to.include('does not exist');
  });

  it('routes a row with an error cell or a value without a header to the exception handler as a decode error', async () => {
    const path = await workbook({
      S: [
        ['a', 'b'],
        [1, 2],
        [1, { error: '#DIV/0!' }],
        [1, 2, 'stray'],
      ],
    });
    const connector = new ExcelConnector({ path });
    const handled: string[] = [];
    const outcomes = await lastValueFrom(
      consume(
        connector,
        consumerTask({
          process: () => undefined,
          onException: (tx, error) => {
            handled.push(`${String(tx.metadata['row'])} ${error.stage ?? ''}: ${error.message}`);
            throw error;
          },
        }),
        { loop: { limit: 3 } },
      ).pipe(toArray()),
    );
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal([
      'success',
      'failed',
      'failed',
    ]);
    expect(handled[0]).to.match(/^3 decode: .*cell B3 holds the error #DIV\/0!/);
    expect(handled[1]).to.match(/^4 decode: .*cell C4 holds a value but column C has no name/);
    await connector.close();
    const outcomesInLedger = readFileSync(`${path}.ledger.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { outcome: string }).outcome);
    expect(outcomesInLedger.sort()).to.deep.equal(['ack', 'deadLetter', 'deadLetter']);
  });

  it('ignores a torn last ledger line and refuses a corrupt one', async () => {
    const path = await workbook({ S: [['n'], [1], [2]] });
    const connector = new ExcelConnector({ path, idColumn: 'n' });
    const [first] = await fetchAll(connector, 1);
    await connector.settle(first as Transaction<ExcelRow>, { type: 'ack' });
    await connector.close();
    appendFileSync(`${path}.ledger.jsonl`, '{"sheet":"S","row":3,"ha');
    const resumed = new ExcelConnector({ path, idColumn: 'n' });
    expect((await fetchAll(resumed)).map((tx) => tx.id)).to.deep.equal(['2']);
    await resumed.close();
    writeFileSync(`${path}.ledger.jsonl`, 'garbage\n{"sheet":"S"}\n');
    const error = await rejection(fetchAll(new ExcelConnector({ path })));
    expect(error).to.be.instanceOf(ExcelLedgerError);
    expect(error.message).to.include('line 1 of the ledger');
  });
});
