import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  deliveryCountOf,
  FileConnector,
  redriveOfKey,
  RetryLaterError,
  type Transaction,
} from '../../../lib/index.js';
import {
  installOtel,
  traceId,
  traceparentOf,
  transactionSpan,
  parentId,
  spanId,
  type InstalledOtel,
} from '../../engine/telemetry/support/otel.js';

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

  /** The lines a redrive appended: `{"ergon-redrive":{of,id,trace},"line":…}`. */
  const redriveLinesOf = (text: string) =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map(
        (line) =>
          JSON.parse(line) as {
            'ergon-redrive': { of: string; id?: string; trace: Record<string, string> };
            line: string;
          },
      );

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

  it('two concurrent redrives append each dead letter to the source once; they are read again under their ids', async () => {
    const before = readFileSync(path, 'utf8');
    const ids = (await new FileConnector({ path }).deadLetters().list()).map((l) => l.id).sort();
    const [a, b] = await Promise.all([
      new FileConnector({ path }).deadLetters().redrive(),
      new FileConnector({ path }).deadLetters().redrive(),
    ]);
    expect([...a.redriven, ...b.redriven].sort()).to.deep.equal(ids);
    const appended = redriveLinesOf(readFileSync(path, 'utf8').slice(before.length));
    expect(appended.map((line) => line['ergon-redrive'].id).sort()).to.deep.equal(ids);
    expect(appended.map((line) => (JSON.parse(line.line) as { n: number }).n).sort()).to.deep.equal(
      [0, 1, 2, 3],
    );
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
    expect(outcomes.map((outcome) => outcome.transaction.id).sort()).to.deep.equal(ids);
    for (const { transaction } of outcomes) {
      expect(transaction.metadata[redriveOfKey]).to.match(/orders\.jsonl\.dead\.jsonl#\d+$/);
      expect(deliveryCountOf(transaction)).to.equal(1);
    }
  });

  it('reads payload-only lines (files of other tools, earlier versions) and redrives them as new lines', async () => {
    const deadPath = `${path}.dead.jsonl`;
    const offset = readFileSync(deadPath).length;
    // A payload alone, a line that is not JSON, and a last line cut short by a crash.
    writeFileSync(deadPath, '{"n":7}\nnot json at all\n{"n":', { flag: 'a' });
    const dead = new FileConnector<unknown>({ path }).deadLetters();
    const plain = (await dead.list()).filter((letter) => letter.error === '');
    expect(plain.map((letter) => letter.payload)).to.deep.equal([{ n: 7 }, 'not json at all']);
    expect(plain[0]).to.include({ id: `${deadPath}#${offset}`, deliveryCount: 1 });
    expect(plain[0]?.traceparent).to.equal(undefined);
    const report = await dead.redrive({ ids: plain.map((letter) => letter.id) });
    expect(report.redriven).to.have.length(2);
    const reader = new FileConnector<unknown>({ path, streaming: true });
    const read = await lastValueFrom(reader.fetch({ size: 10, extra: {} }).pipe(toArray()));
    await reader.close();
    const redriven = read.filter((tx) => tx.metadata[redriveOfKey] !== undefined);
    expect(redriven.map((tx) => tx.payload)).to.deep.equal([{ n: 7 }, 'not json at all']);
    // No id to keep: each gets its new line's.
    expect(redriven.map((tx) => tx.id)).to.satisfy((ids: string[]) =>
      ids.every((id) => /^orders\.jsonl:\d+@/.test(id)),
    );
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

describe('FileConnector dead letters: redrive round trip with the trace of the failure', () => {
  let folder: string;
  let path: string;
  let otel: InstalledOtel;

  beforeEach(() => {
    otel = installOtel({ metrics: false });
    folder = mkdtempSync(join(tmpdir(), 'ergon-file-dlq-trace-'));
    path = join(folder, 'orders.jsonl');
    writeFileSync(path, '{"n":0}\n{"n":1}\n');
  });

  afterEach(async () => {
    await otel.release();
    rmSync(folder, { recursive: true, force: true });
  });

  it("keeps the envelope; the redriven line comes back under its id, in the failure's trace, its delivery count afresh, also across a retry-later", async () => {
    const first = new FileConnector<{ n: number }>({ path });
    const failedRun = await lastValueFrom(
      consume(
        first,
        consumerTask({
          name: 'orders',
          process: (tx: Transaction<{ n: number }>) => {
            if (tx.payload.n === 1) throw new Error('card declined');
            return tx.payload.n;
          },
        }),
        {},
      ).pipe(toArray()),
    );
    await first.close();
    const failed = failedRun.find((outcome) => outcome.status === 'failed')?.transaction;
    const id = failed?.id ?? '';
    const failureSpan = transactionSpan(otel.spans(), 'orders', id);

    // The record is one readable JSON object with the whole envelope.
    const record = JSON.parse(readFileSync(`${path}.dead.jsonl`, 'utf8').trim()) as Record<
      string,
      unknown
    >;
    expect(record).to.deep.include({ id, line: 2, stage: 'process', deliveries: 1 });
    expect(record['payload']).to.deep.equal({ n: 1 });
    expect(record['error']).to.match(/card declined/);
    expect(record['metadata']).to.deep.include({
      file: path,
      line: 2,
      traceparent: traceparentOf(failureSpan),
    });
    const dead = new FileConnector({ path }).deadLetters();
    expect(await dead.show(id)).to.include({
      traceparent: traceparentOf(failureSpan),
      deliveryCount: 1,
    });

    expect(await dead.redrive()).to.deep.equal({ redriven: [id], skipped: [] });
    const second = new FileConnector<{ n: number }>({ path });
    const seen: Transaction<{ n: number }>[] = [];
    const again = await lastValueFrom(
      consume(
        second,
        consumerTask({
          name: 'orders',
          process: (tx: Transaction<{ n: number }>) => {
            seen.push(tx);
            if (seen.length === 1) throw new RetryLaterError(10, 'card service busy');
            return tx.payload.n;
          },
        }),
        {
          loop: { mode: 'continuous', streaming: true, limit: 2 },
          fetch: { empty: { backoff: 5, backoffMultiplier: 1 } },
        },
      ).pipe(toArray()),
    );
    await second.close();
    expect(again.map((outcome) => outcome.status)).to.deep.equal(['released', 'success']);
    expect(seen.map((tx) => [tx.id, deliveryCountOf(tx)])).to.deep.equal([
      [id, 1],
      [id, 2],
    ]);
    for (const tx of seen) {
      expect(tx.metadata['traceparent']).to.equal(traceparentOf(failureSpan));
      expect(tx.metadata[redriveOfKey]).to.equal(`${path}.dead.jsonl#0`);
    }
    // The redriven deliveries' spans continue the failure's trace, under its span.
    const redriven = otel
      .spans()
      .filter(
        (span) =>
          span.name === 'process orders' &&
          span.attributes['ergon.transaction.id'] === id &&
          span !== failureSpan,
      );
    expect(redriven).to.have.length(2);
    for (const span of redriven) {
      expect(traceId(span)).to.equal(traceId(failureSpan));
      expect(parentId(span)).to.equal(spanId(failureSpan));
    }
  });
});
