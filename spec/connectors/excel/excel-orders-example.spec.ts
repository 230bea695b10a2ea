import { expect } from 'chai';
import ExcelJS from 'exceljs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExample } from '../../support/run-example.js';

function run(...args: string[]): string {
  const result = runExample('excel-orders.ts', [...args]);
  expect(result.status, result.stderr).to.equal(0);
  return result.stdout;
}

describe('examples/excel-orders.ts', () => {
  it('ships the valid rows into a new workbook, dead-letters the others, and a second run processes nothing again', async function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'ergon-excel-orders-'));
    try {
      const input = join(dir, 'orders.xlsx');
      const book = new ExcelJS.Workbook();
      const sheet = book.addWorksheet('Orders');
      sheet.addRow(['Order', 'Quantity', 'Due']);
      sheet.addRow(['B-1', 2, new Date(Date.UTC(2026, 0, 5))]);
      sheet.addRow(['B-2', -1, null]);
      sheet.addRow(['B-3', 7, null]);
      await book.xlsx.writeFile(input);
      const out = join(dir, 'out');

      expect(run(input, out)).to.include('outcomes {"failed":1,"success":2}');
      const shipped = new ExcelJS.Workbook();
      await shipped.xlsx.readFile(join(out, 'shipped.xlsx'));
      const rows = shipped.getWorksheet('Shipped') as ExcelJS.Worksheet;
      expect((rows.getRow(1).values as unknown[]).slice(1)).to.deep.equal([
        'order',
        'quantity',
        'due',
        'shippedAt',
      ]);
      const orders = [2, 3].map((n) => rows.getRow(n).getCell(1).value).sort();
      expect(orders).to.deep.equal(['B-1', 'B-3']);
      const ledger = readFileSync(`${input}.ledger.jsonl`, 'utf8').trim().split('\n');
      const dead = ledger
        .map((line) => JSON.parse(line) as { id: string; outcome: string; error?: string })
        .filter((entry) => entry.outcome === 'deadLetter');
      expect(dead.map((entry) => entry.id)).to.deep.equal(['B-2']);
      expect(dead[0]?.error).to.include('quantity -1');

      expect(run(input, out)).to.include('outcomes {}');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
