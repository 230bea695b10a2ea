import { expect } from 'chai';
import ExcelJS from 'exceljs';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const workerScript = fileURLToPath(new URL('./fixtures/excel-worker.ts', import.meta.url));

function idsIn(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
    : [];
}

describe('ExcelConnector across processes', function () {
  this.timeout(60_000);
  let directory: string;
  before(() => {
    directory = mkdtempSync(join(tmpdir(), 'ergon-excel-kill-'));
  });
  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('a consumer killed with SIGKILL mid-batch loses nothing: a restart processes every row not settled', async () => {
    const path = join(directory, 'orders.xlsx');
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Orders');
    sheet.addRow(['n']);
    for (let n = 1; n <= 200; n++) sheet.addRow([n]);
    writeFileSync(path, Buffer.from(await book.xlsx.writeBuffer()));
    const first = join(directory, 'first.ids');
    const second = join(directory, 'second.ids');

    const child = spawn(process.execPath, ['--import', 'tsx', workerScript, path, first, '20'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 30_000;
    while (idsIn(first).length < 100 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    await exited;
    const before = idsIn(first);
    expect(before.length, 'rows processed before the kill').to.be.within(100, 199);

    const restart = spawnSync(
      process.execPath,
      ['--import', 'tsx', workerScript, path, second, '0'],
      {
        encoding: 'utf8',
      },
    );
    expect(restart.status, restart.stderr).to.equal(0);
    const after = idsIn(second);
    const all = new Set([...before, ...after]);
    expect([...all].map(Number).sort((a, b) => a - b)).to.deep.equal(
      Array.from({ length: 200 }, (_, n) => n + 1),
    );
    // It resumed (did not start over): only rows in flight, or whose ledger line was not
    // written yet, at the kill run twice.
    expect(after.length, 'rows processed by the restart').to.be.below(150);
  });
});
