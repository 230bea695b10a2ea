import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExample } from '../../support/run-example.js';

describe('examples/etl-file.ts', () => {
  it('writes into an output folder that does not exist yet: valid orders and rejects, cursor at the end', function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), 'ergon-etl-example-'));
    try {
      const input = join(dir, 'orders.jsonl');
      writeFileSync(
        input,
        [
          '{"id":"o-1","customer":" Ada ","amount":12.5,"currency":"EUR"}',
          'not JSON',
          '{"id":"o-2","customer":"Grace","amount":-3,"currency":"EUR"}',
          '',
        ].join('\n'),
      );
      const out = join(dir, 'out', 'nested');
      const run = runExample('etl-file.ts', [input, out]);
      expect(run.status, run.stderr).to.equal(0);
      const valid = readFileSync(join(out, 'valid.jsonl'), 'utf8').trim().split('\n');
      expect(valid.map((line) => (JSON.parse(line) as { id: string }).id)).to.deep.equal(['o-1']);
      const rejects = readFileSync(join(out, 'rejects.jsonl'), 'utf8').trim().split('\n');
      expect(rejects).to.have.length(2);
      expect(existsSync(`${input}.dead.jsonl`)).to.equal(false);
      expect(JSON.parse(readFileSync(`${input}.cursor`, 'utf8'))).to.include({ line: 3 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
