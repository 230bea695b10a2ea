import { expect } from 'chai';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, retry, toArray } from 'rxjs';
import { TransactionError, type Transaction } from '../../../lib/index.js';
import { ExcelConnector, type ExcelRow } from '../../../lib/connectors/excel/index.js';

type Decision = 'ack' | 'deadLetter' | 'release' | 'unsettled';

describe('ExcelConnector ledger (property)', function () {
  this.timeout(120_000);
  let directory: string;
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'ergon-excel-property-'));
  });
  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('each run hands out exactly the rows not acked or dead-lettered before, each once, in order', async () => {
    let books = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.array(
          fc.record({
            size: fc.integer({ min: 1, max: 5 }),
            decisions: fc.array(
              fc.constantFrom<Decision>('ack', 'deadLetter', 'release', 'unsettled'),
              {
                maxLength: 12,
              },
            ),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (rowCount, runs) => {
          const path = join(directory, `book-${++books}.xlsx`);
          const book = new ExcelJS.Workbook();
          const sheet = book.addWorksheet('S');
          sheet.addRow(['n']);
          for (let n = 1; n <= rowCount; n++) sheet.addRow([n]);
          await book.xlsx.writeFile(path);
          const done = new Set<string>();
          for (const run of runs) {
            const connector = new ExcelConnector({ path, idColumn: 'n' });
            const expected = Array.from({ length: rowCount }, (_, n) => String(n + 1)).filter(
              (id) => !done.has(id),
            );
            const handedOut: string[] = [];
            const released: Transaction<ExcelRow>[] = [];
            let decisions = [...run.decisions];
            for (;;) {
              // A failed fetch is retried, as the engine does (exceljs' streaming reader
              // fails now and then on a sound workbook under load): nothing may be skipped.
              const batch = await lastValueFrom(
                connector.fetch({ size: run.size, extra: {} }).pipe(retry(2), toArray()),
              );
              if (batch.length === 0) break;
              for (const tx of batch) {
                const again = released.indexOf(tx);
                if (again >= 0) released.splice(again, 1);
                else handedOut.push(tx.id);
                const decision = decisions.shift() ?? 'ack';
                if (decision === 'unsettled') continue;
                if (decision === 'release') {
                  released.push(tx);
                  decisions = decisions.filter((d) => d !== 'release'); // released at most once per run
                  await connector.settle(tx, { type: 'release', reason: 'shutdown' });
                  continue;
                }
                await (decision === 'ack'
                  ? connector.settle(tx, { type: 'ack' })
                  : connector.settle(tx, {
                      type: 'deadLetter',
                      error: new TransactionError('no', { category: 'business' }),
                    }));
                done.add(tx.id);
              }
            }
            await connector.close();
            expect(handedOut).to.deep.equal(expected);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
