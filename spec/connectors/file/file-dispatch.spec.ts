import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransaction, FileConnector } from '../../../lib/index.js';

/** Issue 13 item 9: the file connector honours the dispatch signal. */
describe('FileConnector — dispatch signal', () => {
  let folder: string;
  beforeEach(() => (folder = mkdtempSync(join(tmpdir(), 'ergon-file-dispatch-'))));
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  it('a batch aborted while it waits behind an earlier append is not written; the earlier one is', async () => {
    const path = join(folder, 'out.jsonl');
    const connector = new FileConnector<{ n: number }>({ path });
    const first = connector.dispatch([createTransaction({ n: 1 })]);
    const controller = new AbortController();
    const second = connector.dispatch([createTransaction({ n: 2 })], {
      signal: controller.signal,
    });
    const reason = new Error('attempt timed out');
    controller.abort(reason);
    expect((await first).failed).to.deep.equal([]);
    const error = await second.then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(error).to.equal(reason);
    expect(readFileSync(path, 'utf8')).to.equal('{"n":1}\n');
    await connector.close();
  });
});
