import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  FileConnector,
  FileCursorError,
  SettlementError,
  TransactionError,
  type FileConnectorOptions,
  type SettleDecision,
  type Transaction,
} from '../../../lib/index.js';

type Row = { readonly n: number };

const ack: SettleDecision = { type: 'ack' };
const deadLetter: SettleDecision = { type: 'deadLetter', error: new TransactionError('no') };

function fetch<P>(connector: FileConnector<P>, size: number): Promise<Transaction<P>[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

function numbers(transactions: readonly Transaction<Row>[]): number[] {
  return transactions.map((t) => t.metadata['line'] as number);
}

function rows(count: number, from = 1): string {
  return Array.from({ length: count }, (_, i) => `{"n":${from + i}}\n`).join('');
}

describe('FileConnector durability', () => {
  let dir: string;
  let path: string;
  const open: FileConnector[] = [];

  function connect<P = Row>(options: Partial<FileConnectorOptions<P>> = {}): FileConnector<P> {
    const connector = new FileConnector<P>({ path, ...options });
    open.push(connector as FileConnector);
    return connector;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ergon-file-durability-'));
    path = join(dir, 'orders.jsonl');
  });

  afterEach(async () => {
    for (const connector of open.splice(0)) await connector.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  describe('a settlement is durable before the cursor passes its line', () => {
    it('creates the missing folders of the dead-letter file, the cursor and a dispatch target', async () => {
      writeFileSync(path, rows(2));
      const deadLetterPath = join(dir, 'out', 'rejects', 'dead.jsonl');
      const cursorPath = join(dir, 'state', 'orders.cursor');
      const connector = connect({ deadLetterPath, cursorPath });
      const [one, two] = await fetch(connector, 2);
      await connector.settle(one as Transaction<Row>, deadLetter);
      await connector.settle(two as Transaction<Row>, ack);
      await connector.close();
      expect(readFileSync(deadLetterPath, 'utf8')).to.contain('"line":1');
      expect(JSON.parse(readFileSync(cursorPath, 'utf8'))).to.include({ line: 2 });
      const target = connect({ path: join(dir, 'new', 'deep', 'valid.jsonl') });
      expect(await target.dispatch([createTransaction({ n: 1 })])).to.deep.equal({ failed: [] });
      expect(readFileSync(join(dir, 'new', 'deep', 'valid.jsonl'), 'utf8')).to.equal('{"n":1}\n');
    });

    it('a dead letter that cannot be written fails the settle and keeps the line for the next run', async () => {
      writeFileSync(path, rows(3));
      // A folder where the dead-letter file should be: every append fails (EISDIR).
      const deadLetterPath = join(dir, 'dead.jsonl');
      mkdirSync(deadLetterPath);
      const first = connect({ deadLetterPath });
      const [one, two, three] = await fetch(first, 3);
      const error: unknown = await Promise.resolve(
        first.settle(one as Transaction<Row>, deadLetter),
      ).then(
        () => expect.fail('expected the settle to fail'),
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(SettlementError);
      expect((error as Error).message)
        .to.contain(deadLetterPath)
        .and.contain('next run');
      expect(await firstValueFrom(first.health())).to.include({ state: 'dead-letter-failing' });
      // Later lines settle, but the cursor waits for line 1.
      await first.settle(two as Transaction<Row>, ack);
      await first.settle(three as Transaction<Row>, ack);
      expect(() => first.settle(one as Transaction<Row>, ack)).to.throw(SettlementError);
      await first.close();
      const again = await fetch(connect(), 5);
      expect(numbers(again)).to.deep.equal([1, 2, 3]);
    });
  });

  describe('a cancelled fetch hands its lines out again', () => {
    it('unsubscribed before anything was emitted: the next fetch starts at the same line', async () => {
      writeFileSync(path, rows(5));
      const connector = connect();
      connector.fetch({ size: 3, extra: {} }).subscribe().unsubscribe();
      expect(numbers(await fetch(connector, 10))).to.deep.equal([1, 2, 3, 4, 5]);
    });

    it('unsubscribed after the first line: the rest of that fetch comes next', async () => {
      writeFileSync(path, rows(5));
      const connector = connect();
      const first = await lastValueFrom(
        connector.fetch({ size: 3, extra: {} }).pipe(take(1), toArray()),
      );
      expect(numbers(first)).to.deep.equal([1]);
      expect(numbers(await fetch(connector, 10))).to.deep.equal([2, 3, 4, 5]);
    });

    it('a fetch released or cancelled while a redelivery waits: order kept, nothing twice', async () => {
      writeFileSync(path, rows(4));
      const connector = connect();
      const [one] = await fetch(connector, 1);
      await connector.settle(one as Transaction<Row>, { type: 'release', reason: 'shutdown' });
      connector.fetch({ size: 2, extra: {} }).subscribe().unsubscribe();
      expect(numbers(await fetch(connector, 10))).to.deep.equal([1, 2, 3, 4]);
    });

    it('consume with a 2 ms fetch attempt timeout gets every line of a large file once', async function () {
      this.timeout(20_000);
      const count = 20_000;
      writeFileSync(path, rows(count));
      const connector = connect();
      const seen = new Set<number>();
      const outcomes = await lastValueFrom(
        consume(
          connector,
          consumerTask({ process: (t: Transaction<Row>) => void seen.add(t.payload.n) }),
          {
            loop: { mode: 'continuous', concurrency: { value: 64 } },
            fetch: { retry: { timeout: 2, maxAttempts: 1000, backoff: 0 } },
          },
        ).pipe(toArray()),
      );
      expect(outcomes).to.have.length(count);
      expect(seen.size).to.equal(count);
      await connector.close();
      expect(JSON.parse(readFileSync(`${path}.cursor`, 'utf8'))).to.include({ line: count });
    });
  });

  describe('the cursor is checked against the file', () => {
    async function cursorAfter(settled: number, text: string): Promise<void> {
      writeFileSync(path, text);
      const connector = connect();
      for (const transaction of await fetch(connector, settled)) {
        await connector.settle(transaction, ack);
      }
      await connector.close();
    }

    async function refusal(): Promise<FileCursorError> {
      const error: unknown = await fetch(connect(), 5).then(
        () => expect.fail('expected the cursor to be refused'),
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(FileCursorError);
      const refused = error as FileCursorError;
      expect(refused.cursorPath).to.equal(`${path}.cursor`);
      expect(refused.message).to.contain(`${path}.cursor`).and.contain('Delete');
      return refused;
    }

    it('a file that only grew since resumes after the cursor', async () => {
      await cursorAfter(2, rows(3));
      writeFileSync(path, rows(5), { flag: 'w' });
      expect(numbers(await fetch(connect(), 10))).to.deep.equal([3, 4, 5]);
    });

    it('refuses a cursor for a file replaced by a shorter one', async () => {
      await cursorAfter(3, rows(3));
      writeFileSync(path, rows(1, 100));
      expect((await refusal()).message).to.contain('replaced or truncated');
    });

    it('refuses a cursor for a file replaced by a longer, different one', async () => {
      await cursorAfter(2, rows(3));
      writeFileSync(path, rows(50, 1000));
      expect((await refusal()).message).to.contain('replaced');
    });

    it('refuses a corrupt cursor: truncated JSON, negative or fractional positions, a bad hash', async () => {
      writeFileSync(path, rows(3));
      for (const corrupt of [
        '{"line":2,"off',
        '{"line":-1,"offset":8}',
        '{"line":1,"offset":-8}',
        '{"line":1.5,"offset":8}',
        '{"line":1,"offset":8.25}',
        '{"line":3,"offset":2}',
        '[]',
        'null',
        '{"line":1,"offset":8,"sha256":"abc"}',
      ]) {
        writeFileSync(`${path}.cursor`, corrupt);
        const error = await refusal();
        expect(error.message, corrupt).to.contain('corrupt');
      }
    });

    it('accepts a cursor written before fingerprints at a line start, refuses one mid-line', async () => {
      writeFileSync(path, rows(3));
      writeFileSync(`${path}.cursor`, '{"line":1,"offset":8}');
      expect(numbers(await fetch(connect(), 5))).to.deep.equal([2, 3]);
      writeFileSync(`${path}.cursor`, '{"line":1,"offset":5}');
      expect((await refusal()).message).to.contain('not the start of a line');
    });
  });

  describe('transaction ids', () => {
    it('differ between runs over the same file; the line stays in the metadata and fetchById finds both forms', async () => {
      writeFileSync(path, rows(2));
      const first = connect();
      const [a] = await fetch(first, 1);
      await first.close();
      const second = connect();
      const [b] = await fetch(second, 1);
      expect(a?.id).to.match(new RegExp(`^orders\\.jsonl:1@${first.run}$`));
      expect(b?.id).to.match(new RegExp(`^orders\\.jsonl:1@${second.run}$`));
      expect(a?.id).to.not.equal(b?.id);
      expect(a?.metadata).to.deep.equal(b?.metadata);
      expect(a?.metadata).to.deep.equal({ file: path, line: 1 });
      for (const id of [a?.id ?? '', 'orders.jsonl:1']) {
        const found = await firstValueFrom(second.fetchById(id));
        expect(found?.id, id).to.equal(id);
        expect(found?.payload, id).to.deep.equal({ n: 1 });
      }
    });
  });
});
