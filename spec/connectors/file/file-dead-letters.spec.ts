import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, FileConnector } from '../../../lib/index.js';

describe('FileConnector dead letters', () => {
  let folder: string;
  let path: string;

  beforeEach(async () => {
    folder = mkdtempSync(join(tmpdir(), 'ergon-file-dlq-'));
    path = join(folder, 'orders.jsonl');
    writeFileSync(
      path,
      [0, 1, 2, 3].map((n) => JSON.stringify({ n, kind: n % 2 ? 'odd' : 'even' })).join('\n') +
        '\n',
    );
    const connector = new FileConnector<{ n: number }>({ path });
    await lastValueFrom(
      consume(
        connector,
        consumerTask({
          process: (tx) => {
            throw new Error(`bad order ${tx.payload.n}`);
          },
        }),
        { loop: { concurrency: { value: 2 } } },
      ).pipe(toArray()),
    );
    await connector.close();
  });

  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  const payloadsOf = (text: string): unknown[] =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as unknown);

  it('lists id, error, stage, time and delivery count; filter, since, limit; show', async () => {
    const dead = new FileConnector({ path }).deadLetters();
    const all = await dead.list();
    expect(all).to.have.length(4);
    for (const letter of all) {
      expect(letter.error).to.match(/bad order \d/);
      expect(letter).to.include({ stage: 'process', deliveryCount: 1, reason: 'failed' });
      expect(letter.deadLetteredAt.getTime()).to.be.closeTo(Date.now(), 60_000);
      expect(letter.id).to.match(/^orders\.jsonl:\d+@/);
    }
    expect((await dead.list({ filter: 'bad order 2' })).map((l) => l.payload)).to.deep.equal([
      { n: 2, kind: 'even' },
    ]);
    expect(await dead.list({ limit: 3 })).to.have.length(3);
    expect(await dead.list({ since: new Date(Date.now() + 60_000) })).to.deep.equal([]);
    const one = all[1];
    expect((await dead.show(one?.id ?? ''))?.payload).to.deep.equal(one?.payload);
  });

  it('two concurrent redrives append each payload to the source once; they are read again', async () => {
    const before = readFileSync(path, 'utf8');
    const [a, b] = await Promise.all([
      new FileConnector({ path }).deadLetters().redrive(),
      new FileConnector({ path }).deadLetters().redrive(),
    ]);
    expect([...a.redriven, ...b.redriven]).to.have.length(4);
    const appended = payloadsOf(readFileSync(path, 'utf8').slice(before.length));
    expect(appended.map((payload) => (payload as { n: number }).n).sort()).to.deep.equal([
      0, 1, 2, 3,
    ]);
    expect(await new FileConnector({ path }).deadLetters().list()).to.deep.equal([]);
    const reader = new FileConnector<{ n: number }>({ path });
    const outcomes = await lastValueFrom(
      consume(reader, consumerTask({ process: (tx) => tx.payload.n }), {}).pipe(toArray()),
    );
    await reader.close();
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal([
      'success',
      'success',
      'success',
      'success',
    ]);
  });

  it('purges what it selects; dead letters written later still show', async () => {
    const connector = new FileConnector({ path });
    const dead = connector.deadLetters();
    expect((await dead.purge({ filter: 'odd' })).purged).to.have.length(2);
    expect((await dead.list()).map((l) => (l.payload as { n: number }).n)).to.deep.equal([0, 2]);
    writeFileSync(
      `${path}.dead.jsonl`,
      `${JSON.stringify({ id: 'late', error: 'x', payload: 9 })}\n`,
      {
        flag: 'a',
      },
    );
    expect((await dead.list()).map((l) => l.id)).to.include('late');
    expect((await dead.purge()).purged).to.have.length(3);
    expect(await dead.list()).to.deep.equal([]);
  });
});
