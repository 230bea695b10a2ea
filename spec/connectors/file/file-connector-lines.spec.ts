import { expect } from 'chai';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  decodeFailureOf,
  FileConnector,
  TransactionError,
  type FileConnectorOptions,
  type SettleDecision,
  type Transaction,
} from '../../../lib/index.js';

type Row = { readonly n: number; readonly s?: string };

const ack: SettleDecision = { type: 'ack' };

function fetch<P>(connector: FileConnector<P>, size: number): Promise<Transaction<P>[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

function failure(transaction: Transaction | undefined): string {
  const error = transaction === undefined ? undefined : decodeFailureOf(transaction);
  return error instanceof Error ? error.message : 'decoded';
}

describe('FileConnector lines', () => {
  let dir: string;
  let path: string;
  const open: FileConnector[] = [];

  function connect<P = Row>(options: Partial<FileConnectorOptions<P>> = {}): FileConnector<P> {
    const connector = new FileConnector<P>({ path, ...options });
    open.push(connector as FileConnector);
    return connector;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ergon-file-lines-'));
    path = join(dir, 'orders.jsonl');
  });

  afterEach(async () => {
    for (const connector of open.splice(0)) await connector.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  describe('only lines ending with a newline are complete', () => {
    it('streaming: a half-written last line waits for its newline, then is read whole', async () => {
      writeFileSync(path, '{"n":1}\n{"n":');
      const connector = connect({ streaming: true });
      expect((await fetch(connector, 10)).map((t) => t.payload)).to.deep.equal([{ n: 1 }]);
      expect(await fetch(connector, 10)).to.deep.equal([]);
      appendFileSync(path, '2,"s":"ok');
      expect(await fetch(connector, 10)).to.deep.equal([]);
      appendFileSync(path, '"}\n');
      const [two] = await fetch(connector, 10);
      expect(two?.payload).to.deep.equal({ n: 2, s: 'ok' });
      expect(two?.metadata).to.deep.include({ line: 2 });
    });

    it('not streaming: the incomplete last line is reported once, and read again next run once complete', async () => {
      writeFileSync(path, '{"n":1}\n{"n":');
      const first = connect();
      const [one] = await fetch(first, 10);
      expect(one?.payload).to.deep.equal({ n: 1 });
      const [report] = await fetch(first, 10);
      expect(failure(report)).to.contain('line 2 of orders.jsonl does not end with a newline');
      expect(report?.payload).to.equal('{"n":');
      expect(await fetch(first, 10)).to.deep.equal([]);
      await first.settle(one as Transaction<Row>, ack);
      await first.settle(report as Transaction<Row>, {
        type: 'deadLetter',
        error: new TransactionError('incomplete'),
      });
      await first.close();
      expect(JSON.parse(readFileSync(`${path}.cursor`, 'utf8'))).to.include({
        line: 1,
        offset: 8,
      });
      appendFileSync(path, '2}\n');
      const again = await fetch(connect(), 10);
      expect(again.map((t) => [t.metadata['line'], t.payload])).to.deep.equal([[2, { n: 2 }]]);
    });

    it('with consume: one exception (stage decode) for the fragment, no invented line', async () => {
      writeFileSync(path, '{"n":1}\n{"n":2}\n{"n":3,"s":"cut');
      const errors: TransactionError[] = [];
      const first = connect();
      const outcomes = await lastValueFrom(
        consume(
          first,
          consumerTask({
            process: (t: Transaction<Row>) => t.payload.n,
            onException: (_t, error) => void errors.push(error),
          }),
        ).pipe(toArray()),
      );
      expect(
        outcomes.map((o) => `${String(o.transaction.metadata['line'])}:${o.status}`),
      ).to.deep.equal(['1:success', '2:success', '3:exception']);
      expect(errors.map((e) => e.stage)).to.deep.equal(['decode']);
      await first.close();
      expect(JSON.parse(readFileSync(`${path}.cursor`, 'utf8'))).to.include({ line: 2 });
      appendFileSync(path, '"}\n');
      const again = await fetch(connect(), 10);
      expect(again.map((t) => t.payload)).to.deep.equal([{ n: 3, s: 'cut' }]);
    });

    it('a whitespace-only unterminated tail is not reported', async () => {
      writeFileSync(path, '{"n":1}\n  ');
      const connector = connect();
      expect(await fetch(connector, 10)).to.have.length(1);
      expect(await fetch(connector, 10)).to.deep.equal([]);
    });
  });

  describe('UTF-8', () => {
    it('a line that is not valid UTF-8 is undecodable (stage decode), its exact bytes in the dead letter', async () => {
      const bad = Buffer.concat([
        Buffer.from('{"n":2,"s":"'),
        Buffer.from([0xff, 0xc3]),
        Buffer.from('"}'),
      ]);
      writeFileSync(
        path,
        Buffer.concat([Buffer.from('{"n":1}\n'), bad, Buffer.from('\n{"n":3}\n')]),
      );
      const outcomes = await lastValueFrom(
        consume(connect(), consumerTask({ process: (t: Transaction<Row>) => t.payload.n })).pipe(
          toArray(),
        ),
      );
      expect(outcomes.map((o) => o.status)).to.deep.equal(['success', 'failed', 'success']);
      const failed = outcomes[1];
      if (failed?.status !== 'failed') return expect.fail('expected a failure');
      expect(failed.error.stage).to.equal('decode');
      expect(failed.error.message).to.contain('line 2 of orders.jsonl is not valid UTF-8');
      const dead = JSON.parse(readFileSync(`${path}.dead.jsonl`, 'utf8')) as { base64: string };
      expect(Buffer.from(dead.base64, 'base64').equals(bad)).to.equal(true);
    });

    it('a byte order mark on line 1 is skipped, also when the first read holds only part of it', async () => {
      writeFileSync(
        path,
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"n":1}\n{"n":2}\n')]),
      );
      expect((await fetch(connect(), 10)).map((t) => t.payload)).to.deep.equal([
        { n: 1 },
        { n: 2 },
      ]);
      writeFileSync(path, Buffer.from([0xef, 0xbb]));
      const streaming = connect({ streaming: true, cursorPath: join(dir, 'other.cursor') });
      expect(await fetch(streaming, 10)).to.deep.equal([]);
      appendFileSync(path, Buffer.concat([Buffer.from([0xbf]), Buffer.from('{"n":1}\n')]));
      expect((await fetch(streaming, 10)).map((t) => t.payload)).to.deep.equal([{ n: 1 }]);
    });

    it('a byte order mark after line 1 is not skipped: that line does not parse', async () => {
      writeFileSync(
        path,
        Buffer.concat([
          Buffer.from('{"n":1}\n'),
          Buffer.from([0xef, 0xbb, 0xbf]),
          Buffer.from('{"n":2}\n'),
        ]),
      );
      const all = await fetch(connect(), 10);
      expect(all.map(failure)).to.deep.equal(['decoded', failure(all[1])]);
      expect(failure(all[1])).to.contain('line 2 of orders.jsonl is not valid');
    });
  });

  describe('long lines', () => {
    it('a line longer than maxLineBytes is undecodable, its neighbours are read, and memory stays bounded', async () => {
      const long = `{"s":"${'x'.repeat(5000)}"}`;
      const exact = `{"s":"${'y'.repeat(992)}"}`;
      expect(Buffer.byteLength(exact)).to.equal(1000);
      writeFileSync(path, `{"n":1}\n${long}\n${exact}\n{"n":4}\n`);
      const all = await fetch(connect({ maxLineBytes: 1000 }), 10);
      expect(all.map((t) => t.metadata['line'])).to.deep.equal([1, 2, 3, 4]);
      expect(failure(all[1])).to.contain(
        'line 2 of orders.jsonl is 5008 bytes long, more than maxLineBytes (1000)',
      );
      expect(all.map(failure).filter((f) => f === 'decoded')).to.have.length(3);
      expect((all[2]?.payload as Row).s).to.have.length(992);
    });

    it('a too-long line still being written is skipped as it grows (streaming)', async () => {
      writeFileSync(path, `{"n":1}\n${'z'.repeat(200_000)}`);
      const connector = connect({ maxLineBytes: 1000, streaming: true });
      expect(await fetch(connector, 10)).to.have.length(1);
      appendFileSync(path, `${'z'.repeat(200_000)}\n{"n":3}\n`);
      const next = await fetch(connector, 10);
      expect(next.map((t) => t.metadata['line'])).to.deep.equal([2, 3]);
      expect(failure(next[0])).to.contain('400000 bytes long');
    });

    it('refuses a maxLineBytes that is not a positive integer', () => {
      for (const maxLineBytes of [0, -1, 1.5, Number.NaN]) {
        expect(() => new FileConnector({ path, maxLineBytes }), String(maxLineBytes)).to.throw(
          TypeError,
          /maxLineBytes/,
        );
      }
    });

    it('reads a 24 MiB line in linear time: about as fast as reading the file and parsing it', async function () {
      this.timeout(30_000);
      const size = 24 * 1024 * 1024;
      writeFileSync(path, `{"s":"${'a'.repeat(size)}"}\n{"n":2}\n`);
      let started = performance.now();
      JSON.parse(readFileSync(path, 'utf8').split('\n')[0] ?? '');
      const baseline = performance.now() - started;
      const connector = connect();
      started = performance.now();
      const all = await fetch(connector, 10);
      const elapsed = performance.now() - started;
      expect(all.map((t) => t.metadata['line'])).to.deep.equal([1, 2]);
      expect((all[0]?.payload as Row).s).to.have.length(size);
      // Quadratic reading took ≈ 20 s here (0.5 s baseline); linear reading ≈ 1-2 × baseline.
      expect(elapsed).to.be.below(3 * baseline + 750);
    });
  });
});
