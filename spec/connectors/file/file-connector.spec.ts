import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import {
  ConnectorClosedError,
  consume,
  consumerTask,
  createTransaction,
  decodeFailureOf,
  FileConnector,
  SettlementError,
  TransactionError,
  type FileConnectorOptions,
  type SettleDecision,
  type Transaction,
} from '../../../lib/index.js';

const ack: SettleDecision = { type: 'ack' };
const release: SettleDecision = { type: 'release', reason: 'shutdown' };

type Row = { readonly n: number; readonly s?: string };

function fetch<P>(connector: FileConnector<P>, size: number): Promise<Transaction<P>[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

/** A transaction id without its run (`orders.jsonl:2@<run>` → `orders.jsonl:2`). */
function plain(id: string): string {
  return id.replace(/@[0-9a-f]{16}/, '');
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits (at most ~50 ms of real time) until `check` holds. */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 10; i++) {
    if (check()) return true;
    await sleep(5);
  }
  return check();
}

describe('FileConnector', () => {
  let dir: string;
  let path: string;
  const open: FileConnector[] = [];

  /** A connector on `path` that is closed after the test. */
  function connect<P = Row>(options: Partial<FileConnectorOptions<P>> = {}): FileConnector<P> {
    const connector = new FileConnector<P>({ path, ...options });
    open.push(connector as FileConnector);
    return connector;
  }

  /** A cursor path that cannot be written: its temporary file's name is taken by a folder. */
  function blockedCursor(): string {
    const cursorPath = join(dir, 'blocked.cursor');
    mkdirSync(`${cursorPath}.tmp`);
    return cursorPath;
  }

  function write(...rows: string[]): void {
    writeFileSync(path, rows.join(''));
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ergon-file-connector-'));
    path = join(dir, 'orders.jsonl');
  });

  afterEach(async () => {
    for (const connector of open.splice(0)) await connector.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('needs a path', () => {
    expect(() => new FileConnector({ path: '' })).to.throw(TypeError);
  });

  describe('fetch', () => {
    it('reads the lines in order: id `<file>:<line>`, metadata { file, line }, parsed payload', async () => {
      write('{"n":1}\n', '{"n":2}\n', '{"n":3}\n');
      const connector = connect();
      const all = await fetch(connector, 10);
      expect(all.map((t) => [plain(t.id), t.payload, t.metadata])).to.deep.equal([
        ['orders.jsonl:1', { n: 1 }, { file: path, line: 1 }],
        ['orders.jsonl:2', { n: 2 }, { file: path, line: 2 }],
        ['orders.jsonl:3', { n: 3 }, { file: path, line: 3 }],
      ]);
      expect(all.every((t) => Object.isFrozen(t))).to.equal(true);
    });

    it('returns at most request.size, continues where it stopped, then empty at the end', async () => {
      write('{"n":1}\n', '{"n":2}\n', '{"n":3}\n');
      const connector = connect();
      expect((await fetch(connector, 2)).map((t) => plain(t.id))).to.deep.equal([
        'orders.jsonl:1',
        'orders.jsonl:2',
      ]);
      expect((await fetch(connector, 2)).map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:3']);
      expect(await fetch(connector, 2)).to.deep.equal([]);
    });

    it('is cold: nothing is read until subscribed', async () => {
      write('{"n":1}\n');
      const connector = connect();
      connector.fetch({ size: 1, extra: {} });
      connector.fetch({ size: 1, extra: {} });
      expect((await fetch(connector, 1)).map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:1']);
    });

    it('skips blank and whitespace-only lines; ids keep the physical line numbers', async () => {
      write('{"n":1}\n', '\n', '   \n', '{"n":4}\n', '\n');
      const all = await fetch(connect(), 10);
      expect(all.map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:1', 'orders.jsonl:4']);
    });

    it('reads CRLF line endings', async () => {
      write('{"n":1}\r\n', '{"n":2}\r\n');
      const all = await fetch(connect(), 10);
      expect(all.map((t) => t.payload)).to.deep.equal([{ n: 1 }, { n: 2 }]);
    });

    it('is UTF-8 safe across the 64 KiB read chunk: a character straddling byte 65536', async () => {
      const prefix = '{"n":1,"s":"';
      const filler = 'a'.repeat(65534 - Buffer.byteLength(prefix));
      const text = `${filler}€😀é`;
      const first = `${prefix}${text}"}\n`;
      // '€' takes bytes 65534, 65535 and 65536: the first read chunk ends inside it.
      expect(Buffer.byteLength(`${prefix}${filler}`)).to.equal(65534);
      write(first, '{"n":2,"s":"ünïcödé ✓"}\n');
      const all = await fetch(connect(), 10);
      expect(all.map((t) => t.payload)).to.deep.equal([
        { n: 1, s: text },
        { n: 2, s: 'ünïcödé ✓' },
      ]);
    });

    it('reads many multi-byte lines over several chunks unchanged', async () => {
      const rows = Array.from({ length: 3000 }, (_, n) => ({
        n,
        s: `Zürich → 東京 ${'€'.repeat(n % 17)}`,
      }));
      write(...rows.map((row) => `${JSON.stringify(row)}\n`));
      const connector = connect();
      const all = [...(await fetch(connector, 1000)), ...(await fetch(connector, 5000))];
      expect(all.map((t) => t.payload)).to.deep.equal(rows);
      expect(plain(all.at(-1)?.id ?? '')).to.equal('orders.jsonl:3000');
    });

    it('two fetches at once hand out different lines, intact', async () => {
      // Lines longer than the 64 KiB read chunk, so both fetches have to wait for reads.
      const rows = [1, 2, 3].map((n) => ({ n, s: String(n).repeat(100_000) }));
      write(...rows.map((row) => `${JSON.stringify(row)}\n`));
      const connector = connect();
      expect((await fetch(connector, 1)).map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:1']);
      const [first, second] = await Promise.all([fetch(connector, 1), fetch(connector, 1)]);
      const got = [...(first ?? []), ...(second ?? [])].sort((a, b) => a.id.localeCompare(b.id));
      expect(got.map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:2', 'orders.jsonl:3']);
      const intact = (t: Transaction<Row>): string =>
        decodeFailureOf(t) !== undefined
          ? `undecodable: ${String(decodeFailureOf(t))}`.slice(0, 80)
          : `${t.payload.n}:${t.payload.s === String(t.payload.n).repeat(100_000)}`;
      expect(got.map(intact)).to.deep.equal(['2:true', '3:true']);
    });

    it('a line that does not parse becomes an undecodable transaction naming its line', async () => {
      write('{"n":1}\n', '{oops\n', '{"n":3}\n');
      const all = await fetch(connect(), 10);
      expect(all.map((t) => plain(t.id))).to.deep.equal([
        'orders.jsonl:1',
        'orders.jsonl:2',
        'orders.jsonl:3',
      ]);
      const bad = all[1] as Transaction<Row>;
      expect(bad.payload).to.equal('{oops');
      const failure = decodeFailureOf(bad) as Error;
      expect(failure).to.be.instanceOf(Error);
      expect(failure.message).to.contain('line 2');
      expect(decodeFailureOf(all[0] as Transaction<Row>)).to.equal(undefined);
    });

    it('uses a custom parse', async () => {
      write('a,1\n', 'b,2\n');
      const connector = connect<{ key: string; value: number }>({
        parse: (line) => {
          const [key = '', value = ''] = line.split(',');
          return { key, value: Number(value) };
        },
      });
      expect((await fetch(connector, 5)).map((t) => t.payload)).to.deep.equal([
        { key: 'a', value: 1 },
        { key: 'b', value: 2 },
      ]);
    });
  });

  describe('settle, cursor and restart', () => {
    it('close() writes the cursor after the last line settled; a restart resumes after it', async () => {
      write('{"n":1}\n', '{"n":2}\n', '{"n":3}\n');
      const first = connect();
      const [one, two] = await fetch(first, 2);
      await first.settle(one as Transaction<Row>, ack);
      await first.settle(two as Transaction<Row>, ack);
      await first.close();
      expect(existsSync(`${path}.cursor`)).to.equal(true);
      const cursor = JSON.parse(readFileSync(`${path}.cursor`, 'utf8')) as { line: number };
      expect(cursor.line).to.equal(2);
      const again = await fetch(connect(), 10);
      expect(again.map((t) => [plain(t.id), t.payload])).to.deep.equal([
        ['orders.jsonl:3', { n: 3 }],
      ]);
    });

    it('settling writes the cursor without waiting for close (a crash loses at most the last moves)', async () => {
      write('{"n":1}\n', '{"n":2}\n');
      const connector = connect();
      const [one] = await fetch(connector, 1);
      await connector.settle(one as Transaction<Row>, ack);
      const written = await eventually(() => existsSync(`${path}.cursor`));
      expect(written).to.equal(true);
      const again = await fetch(connect(), 10);
      expect(again.map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:2']);
    });

    it('lines settled out of order are read again after a restart, never skipped (at-least-once)', async () => {
      write('{"n":1}\n', '{"n":2}\n', '{"n":3}\n', '{"n":4}\n');
      const first = connect();
      // the second line stays unsettled
      const [one, , three] = await fetch(first, 3);
      await first.settle(one as Transaction<Row>, ack);
      await first.settle(three as Transaction<Row>, ack);
      await first.close();
      const again = await fetch(connect(), 10);
      expect(again.map((t) => plain(t.id))).to.deep.equal([
        'orders.jsonl:2',
        'orders.jsonl:3',
        'orders.jsonl:4',
      ]);
    });

    it('the watermark moves over a gap once the gap is settled', async () => {
      write('{"n":1}\n', '{"n":2}\n', '{"n":3}\n');
      const first = connect();
      const [one, two, three] = await fetch(first, 3);
      await first.settle(three as Transaction<Row>, ack);
      await first.settle(one as Transaction<Row>, ack);
      await first.settle(two as Transaction<Row>, ack);
      await first.close();
      expect(await fetch(connect(), 10)).to.deep.equal([]);
    });

    it('blank lines after the cursor are skipped on restart too', async () => {
      write('{"n":1}\n', '\n', '\n', '{"n":4}\n');
      const first = connect();
      const [one] = await fetch(first, 1);
      await first.settle(one as Transaction<Row>, ack);
      await first.close();
      expect((await fetch(connect(), 10)).map((t) => plain(t.id))).to.deep.equal([
        'orders.jsonl:4',
      ]);
    });

    it('a released line is handed out again first, with the same id', async () => {
      write('{"n":1}\n', '{"n":2}\n', '{"n":3}\n');
      const connector = connect();
      const [one] = await fetch(connector, 1);
      await connector.settle(one as Transaction<Row>, release);
      const next = await fetch(connector, 2);
      expect(next.map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:1', 'orders.jsonl:2']);
      await connector.settle(next[0] as Transaction<Row>, ack);
    });

    it('a release does not move the cursor: after a restart the line is read again', async () => {
      write('{"n":1}\n', '{"n":2}\n');
      const first = connect();
      const [one] = await fetch(first, 1);
      await first.settle(one as Transaction<Row>, release);
      await first.close();
      expect((await fetch(connect(), 1)).map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:1']);
    });

    it('deadLetter appends the line to `<path>.dead.jsonl` with its error, and moves the cursor', async () => {
      write('{"n":1}\n', '{"n":2}\n');
      const first = connect();
      const [one] = await fetch(first, 1);
      const error = new TransactionError('could not ship', { transactionId: 'orders.jsonl:1' });
      await first.settle(one as Transaction<Row>, { type: 'deadLetter', error });
      await first.close();
      const dead = lines(readFileSync(`${path}.dead.jsonl`, 'utf8')).map(
        (line) => JSON.parse(line) as Record<string, unknown>,
      );
      expect(Date.parse(String(dead[0]?.['deadLetteredAt']))).to.be.closeTo(Date.now(), 60_000);
      expect(dead.map(({ deadLetteredAt: _at, ...rest }) => rest)).to.deep.equal([
        {
          line: 1,
          id: one?.id,
          error: 'could not ship',
          category: 'system',
          deliveries: 1,
          metadata: { file: path, line: 1 },
          payload: { n: 1 },
        },
      ]);
      expect((await fetch(connect(), 5)).map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:2']);
    });

    it('honours cursorPath and deadLetterPath', async () => {
      write('{"n":1}\n', '{"n":2}\n');
      const cursorPath = join(dir, 'position.json');
      const deadLetterPath = join(dir, 'rejects.jsonl');
      const connector = connect({ cursorPath, deadLetterPath });
      const [one, two] = await fetch(connector, 2);
      await connector.settle(one as Transaction<Row>, ack);
      await connector.settle(two as Transaction<Row>, {
        type: 'deadLetter',
        error: new TransactionError('no'),
      });
      await connector.close();
      expect(existsSync(cursorPath)).to.equal(true);
      expect(lines(readFileSync(deadLetterPath, 'utf8'))).to.have.length(1);
      expect(existsSync(`${path}.cursor`)).to.equal(false);
      expect(existsSync(`${path}.dead.jsonl`)).to.equal(false);
    });

    it('a cursor that cannot be written never becomes an unhandled rejection', async () => {
      write('{"n":1}\n', '{"n":2}\n');
      const unhandled: unknown[] = [];
      const capture = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', capture);
      const connector = new FileConnector<Row>({
        path,
        cursorPath: blockedCursor(),
      });
      try {
        const [one] = await fetch(connector, 1);
        await Promise.resolve(connector.settle(one as Transaction<Row>, ack)).catch(
          () => undefined,
        );
        await sleep(20);
      } finally {
        process.off('unhandledRejection', capture);
        await connector.close().catch(() => undefined);
      }
      expect(unhandled.map((e) => String(e))).to.deep.equal([]);
    });

    it('settling twice throws SettlementError', async () => {
      write('{"n":1}\n');
      const connector = connect();
      const [one] = await fetch(connector, 1);
      await connector.settle(one as Transaction<Row>, ack);
      expect(() => connector.settle(one as Transaction<Row>, ack)).to.throw(SettlementError);
    });

    it('releasing twice without a new delivery throws SettlementError (it would be handed out twice)', async () => {
      write('{"n":1}\n', '{"n":2}\n');
      const connector = connect();
      const [one] = await fetch(connector, 1);
      await connector.settle(one as Transaction<Row>, release);
      expect(() => connector.settle(one as Transaction<Row>, release)).to.throw(SettlementError);
      expect((await fetch(connector, 5)).map((t) => plain(t.id))).to.deep.equal([
        'orders.jsonl:1',
        'orders.jsonl:2',
      ]);
    });

    it('a released line cannot be acked before it is handed out again', async () => {
      write('{"n":1}\n');
      const connector = connect();
      const [one] = await fetch(connector, 1);
      await connector.settle(one as Transaction<Row>, release);
      expect(() => connector.settle(one as Transaction<Row>, ack)).to.throw(SettlementError);
    });

    it('settling a transaction it did not hand out throws SettlementError', async () => {
      write('{"n":1}\n');
      const connector = connect();
      await fetch(connector, 1);
      const foreign = createTransaction({ n: 1 }, { id: 'orders.jsonl:1' });
      expect(() => connector.settle(foreign, ack)).to.throw(SettlementError);
    });
  });

  describe('with consume', () => {
    it('a malformed line goes to the exception handler with stage decode and its line number', async () => {
      write('{"n":1}\n', '{oops\n', '{"n":3}\n');
      const connector = connect();
      const errors: TransactionError[] = [];
      const seen: number[] = [];
      const task = consumerTask({
        process: (t: Transaction<Row>) => void seen.push(t.payload.n),
        onException: (_t, error) => void errors.push(error),
      });
      const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
      expect(outcomes.map((o) => `${plain(o.transaction.id)}:${o.status}`)).to.deep.equal([
        'orders.jsonl:1:success',
        'orders.jsonl:2:exception',
        'orders.jsonl:3:success',
      ]);
      expect(seen).to.deep.equal([1, 3]);
      expect(errors).to.have.length(1);
      expect(errors[0]?.stage).to.equal('decode');
      expect(errors[0]?.message).to.match(/line 2\b/);
      await connector.close();
      expect(await fetch(connect(), 5)).to.deep.equal([]);
    });

    it('without an exception handler a malformed line is dead-lettered with its raw text', async () => {
      write('{oops\n', '{"n":2}\n');
      const connector = connect();
      const outcomes = await lastValueFrom(
        consume(connector, consumerTask({ process: () => 'ok' })).pipe(toArray()),
      );
      expect(outcomes.map((o) => o.status)).to.deep.equal(['failed', 'success']);
      await connector.close();
      const [dead] = lines(readFileSync(`${path}.dead.jsonl`, 'utf8')).map(
        (line) => JSON.parse(line) as { line: number; payload: unknown; error: string },
      );
      expect(dead?.line).to.equal(1);
      expect(dead?.payload).to.equal('{oops');
      expect(dead?.error).to.contain('line 1');
    });

    it('a run over the file acks every line; the next run finds nothing to do', async () => {
      write(...Array.from({ length: 25 }, (_, n) => `{"n":${n + 1}}\n`));
      const task = consumerTask({ process: (t: Transaction<Row>) => t.payload.n });
      const first = connect();
      const outcomes = await lastValueFrom(
        consume(first, task, { loop: { mode: 'continuous', concurrency: { value: 4 } } }).pipe(
          toArray(),
        ),
      );
      expect(outcomes).to.have.length(25);
      await first.close();
      const second = await lastValueFrom(consume(connect(), task).pipe(toArray()));
      expect(second).to.deep.equal([]);
    });
  });

  describe('dispatch', () => {
    it('appends a line per payload and reports no failures; the file is created if missing', async () => {
      const connector = connect();
      const report = await connector.dispatch([
        createTransaction({ n: 1 }),
        createTransaction({ n: 2, s: 'é' }),
      ]);
      expect(report).to.deep.equal({ failed: [] });
      await connector.dispatch([createTransaction({ n: 3 })]);
      expect(readFileSync(path, 'utf8')).to.equal('{"n":1}\n{"n":2,"s":"é"}\n{"n":3}\n');
    });

    it('round trip: dispatched lines are fetched by a consumer of the same file', async () => {
      write('{"n":1}\n');
      const connector = connect();
      expect((await fetch(connector, 5)).map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:1']);
      await connector.dispatch([createTransaction({ n: 2 }), createTransaction({ n: 3 })]);
      const next = await fetch(connector, 5);
      expect(next.map((t) => [plain(t.id), t.payload])).to.deep.equal([
        ['orders.jsonl:2', { n: 2 }],
        ['orders.jsonl:3', { n: 3 }],
      ]);
    });

    it('a batch is one write: concurrent batches never interleave their lines', async () => {
      const connector = connect();
      const batches = Array.from({ length: 6 }, (_, b) =>
        Array.from({ length: 300 }, (_, i) => createTransaction({ n: b * 1000 + i })),
      );
      await Promise.all(batches.map((batch) => connector.dispatch(batch)));
      const written = lines(readFileSync(path, 'utf8')).map((line) => (JSON.parse(line) as Row).n);
      expect(written).to.have.length(1800);
      const runs = written.reduce<number[]>((acc, n, i) => {
        if (i === 0 || Math.floor(n / 1000) !== Math.floor((written[i - 1] ?? 0) / 1000)) {
          acc.push(Math.floor(n / 1000));
        }
        return acc;
      }, []);
      expect(runs).to.have.length(6);
      expect([...runs].sort()).to.deep.equal([0, 1, 2, 3, 4, 5]);
    });

    it('a payload that cannot be written is reported as failed; the rest of the batch is written', async () => {
      const connector = connect<unknown>();
      const bad = createTransaction<unknown>({ big: 10n });
      const report = await connector.dispatch([
        createTransaction<unknown>({ n: 1 }),
        bad,
        createTransaction<unknown>({ n: 3 }),
      ]);
      expect(report.failed.map((f) => f.transaction)).to.deep.equal([bad]);
      expect(report.failed[0]?.error).to.be.instanceOf(Error);
      expect(readFileSync(path, 'utf8')).to.equal('{"n":1}\n{"n":3}\n');
    });

    it('a custom stringify that spans lines is refused for that payload', async () => {
      const connector = connect<string>({ stringify: (payload) => payload });
      const report = await connector.dispatch([
        createTransaction('one'),
        createTransaction('two\nlines'),
      ]);
      expect(report.failed).to.have.length(1);
      expect(readFileSync(path, 'utf8')).to.equal('one\n');
    });

    it('appending to a file whose last line is unterminated starts a new line', async () => {
      write('{"n":1}\n', '{"n":2}');
      const connector = connect();
      await connector.dispatch([createTransaction({ n: 3 })]);
      const all = await fetch(connect(), 10);
      expect(all.map((t) => t.payload)).to.deep.equal([{ n: 1 }, { n: 2 }, { n: 3 }]);
    });
  });

  describe('fetchById', () => {
    it('finds a line by `<file>:<line>`, like fetch makes it', async () => {
      write('{"n":1}\n', '{"n":2}\n');
      const found = await firstValueFrom(connect().fetchById('orders.jsonl:2'));
      expect(found?.id).to.equal('orders.jsonl:2');
      expect(found?.payload).to.deep.equal({ n: 2 });
      expect(found?.metadata).to.deep.equal({ file: path, line: 2 });
    });

    it('resolves undefined for a missing line, another file or a malformed id', async () => {
      write('{"n":1}\n');
      const connector = connect();
      for (const id of ['orders.jsonl:2', 'orders.jsonl:0', 'other.jsonl:1', 'orders.jsonl:x']) {
        expect(await firstValueFrom(connector.fetchById(id)), id).to.equal(undefined);
      }
    });

    it('resolves undefined for a blank line (blank lines are not transactions)', async () => {
      write('{"n":1}\n', '\n', '{"n":3}\n');
      expect(await firstValueFrom(connect().fetchById('orders.jsonl:2'))).to.equal(undefined);
    });

    it('a malformed line is found as an undecodable transaction', async () => {
      write('{oops\n');
      const found = await firstValueFrom(connect().fetchById('orders.jsonl:1'));
      if (found === undefined) return expect.fail('not found');
      expect(decodeFailureOf(found)).to.be.instanceOf(Error);
    });
  });

  describe('close and health', () => {
    it('health is open, then closed', async () => {
      const connector = connect();
      expect((await firstValueFrom(connector.health())).healthy).to.equal(true);
      await connector.close();
      expect(await firstValueFrom(connector.health())).to.deep.include({ healthy: false });
    });

    it('after close, fetch and dispatch fail with ConnectorClosedError; close is idempotent', async () => {
      write('{"n":1}\n');
      const connector = connect();
      await connector.close();
      await connector.close();
      const fetchError: unknown = await fetch(connector, 1).then(
        () => expect.fail('expected an error'),
        (e: unknown) => e,
      );
      expect(fetchError).to.be.instanceOf(ConnectorClosedError);
      const dispatchError: unknown = await connector.dispatch([createTransaction({ n: 2 })]).then(
        () => expect.fail('expected an error'),
        (e: unknown) => e,
      );
      expect(dispatchError).to.be.instanceOf(ConnectorClosedError);
      expect(readFileSync(path, 'utf8')).to.equal('{"n":1}\n');
    });

    it('close() without anything settled writes no cursor; a restart starts at line 1', async () => {
      write('{"n":1}\n');
      const first = connect();
      await fetch(first, 1);
      await first.close();
      expect(existsSync(`${path}.cursor`)).to.equal(false);
      expect((await fetch(connect(), 1)).map((t) => plain(t.id))).to.deep.equal(['orders.jsonl:1']);
    });
  });
});
