import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  NonRetryableError,
  SettlementError,
  TransactionError,
  type Outcome,
  type Transaction,
} from '../../../lib/index.js';
import {
  openBrokerConnector,
  type BrokerConnector,
} from '../../../faults/support/broker-connector.js';
import type { BrokerTarget } from '../../../faults/support/broker-target.js';
import { childEnvironment } from '../../support/quiet-logs.js';
import { requireService, type ServiceName } from '../../support/real-service.js';

const worker = fileURLToPath(new URL('./fixtures/contract-worker.ts', import.meta.url));

/**
 * Contract points that hold for some transports only: `orderPerKey`, transactions of one
 * `metadata.key` are fetched in the order they were dispatched.
 */
type ContractCapability = 'orderPerKey';

const capabilityNames: Readonly<Record<ContractCapability, string>> = {
  orderPerKey: 'order per key',
};

/** What a broker connector brings to the contract: its server and a fresh destination. */
export interface ConnectorContractSetup {
  /** The server the connector talks to (the suite skips locally, fails in CI, without it). */
  readonly service: ServiceName;
  /**
   * A new, empty destination on the shared server (unique names), with its raw publish and
   * dead-letter view; the suite disposes of it.
   */
  readonly target: () => Promise<BrokerTarget>;
  /**
   * The contract points this transport does not have, each with the reason (shown in the
   * suite's title): those points are not part of its contract, rather than skipped.
   */
  readonly lacks?: Readonly<Partial<Record<ContractCapability, string>>>;
}

/** Fetches once; what came, each one still to settle. */
async function fetchOnce(connector: BrokerConnector, size: number): Promise<Transaction[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

/**
 * Fetches (and acks) until `done` says so or `within` ms passed; returns every transaction
 * fetched. Asserts that no fetch returned more than `size`.
 */
async function drain(
  connector: BrokerConnector,
  done: (seen: readonly Transaction[]) => boolean,
  options: { size?: number; within?: number; settle?: 'ack' | 'none' } = {},
): Promise<Transaction[]> {
  const { size = 50, within = 30_000, settle = 'ack' } = options;
  const seen: Transaction[] = [];
  const deadline = Date.now() + within;
  while (!done(seen) && Date.now() < deadline) {
    const batch = await fetchOnce(connector, size);
    expect(batch.length, 'a fetch returned more than its size').to.be.at.most(size);
    seen.push(...batch);
    if (settle === 'ack')
      await Promise.all(
        batch.map((tx) => Promise.resolve(connector.settle?.(tx, { type: 'ack' }))),
      );
  }
  return seen;
}

const ids = (transactions: readonly { id: string }[]): string[] => transactions.map((tx) => tx.id);

/**
 * The contract every broker connector keeps, run against the real server: fetch ≤ size, ack
 * removes, dead-letter carries the error, release redelivers, one settlement per delivery,
 * `metadata.key` and `traceparent` across a hop, undecodable bodies become `decode` errors,
 * and a consumer killed (SIGKILL) mid-batch loses nothing: what it held is delivered again.
 */
export function describeConnectorContract(name: string, setup: ConnectorContractSetup): void {
  const lacks = setup.lacks ?? {};
  const has = (capability: ContractCapability): boolean => lacks[capability] === undefined;
  const without = Object.entries(lacks).map(
    ([capability, reason]) => `${capabilityNames[capability as ContractCapability]}: ${reason}`,
  );
  const title = `${name} keeps the connector contract (real server)${without.length === 0 ? '' : `; not part of it: ${without.join('; ')}`}`;
  describe(title, function () {
    this.timeout(60_000);
    let target: BrokerTarget | null = null;
    const open: BrokerConnector[] = [];
    const children: ChildProcess[] = [];
    let directory = '';

    before(async function () {
      await requireService(this, setup.service);
      directory = mkdtempSync(join(tmpdir(), 'ergon-contract-'));
    });

    afterEach(async () => {
      for (const child of children.splice(0)) child.kill('SIGKILL');
      await Promise.all(open.splice(0).map((connector) => connector.close()));
      await target?.dispose();
      target = null;
    });

    after(() => {
      if (directory !== '') rmSync(directory, { recursive: true, force: true });
    });

    async function fresh(): Promise<BrokerTarget> {
      target = await setup.target();
      return target;
    }

    async function connectorOn(destination: BrokerTarget, workerId = 0): Promise<BrokerConnector> {
      const connector = await openBrokerConnector(destination.endpoint, workerId);
      open.push(connector);
      return connector;
    }

    async function publish(connector: BrokerConnector, transactions: Transaction[]): Promise<void> {
      const report = await connector.dispatch(transactions);
      expect(report.failed, 'dispatch failures').to.deep.equal([]);
    }

    it('fetch returns at most the size asked for, and an acked transaction is gone', async () => {
      const destination = await fresh();
      const connector = await connectorOn(destination);
      const sent = Array.from({ length: 10 }, (_, n) =>
        createTransaction({ n }, { id: `fetch-${n}` }),
      );
      await publish(connector, sent);
      const seen = await drain(connector, (got) => got.length >= sent.length, { size: 3 });
      expect(ids(seen).sort()).to.deep.equal(ids(sent).sort());
      await connector.close();
      expect(await destination.outstanding(), 'left after every ack').to.equal(0);
      const again = await connectorOn(destination, 1);
      expect(await drain(again, () => false, { within: 1500 }), 'delivered again').to.deep.equal(
        [],
      );
    });

    it('a dead-lettered transaction is in the dead-letter destination, with its error', async () => {
      const destination = await fresh();
      const connector = await connectorOn(destination);
      await publish(connector, [
        createTransaction({ n: 1 }, { id: 'poison-1' }),
        createTransaction({ n: 2 }, { id: 'fine-2' }),
      ]);
      const outcomes = await lastValueFrom(
        consume(
          connector,
          consumerTask({
            process: (tx) => {
              if (tx.id === 'poison-1') throw new NonRetryableError('poisoned payload 1');
              return 'ok';
            },
          }),
          { loop: { limit: 2, streaming: true } },
        ).pipe(toArray()),
      );
      expect(outcomes.map((o) => `${o.transaction.id}:${o.status}`).sort()).to.deep.equal([
        'fine-2:success',
        'poison-1:failed',
      ]);
      expect(outcomes.every((o) => o.settleError === undefined)).to.equal(true);
      let errors: ReadonlyMap<string, string> = new Map();
      for (let tries = 0; tries < 20 && !errors.has('poison-1'); tries++) {
        errors = await destination.deadLetterErrors();
        if (!errors.has('poison-1')) await sleep(200);
      }
      expect([...errors.keys()]).to.deep.equal(['poison-1']);
      expect(errors.get('poison-1')).to.contain('poisoned payload 1');
    });

    it('a released transaction is delivered again; settling it twice is refused', async () => {
      const destination = await fresh();
      const connector = await connectorOn(destination);
      await publish(connector, [createTransaction({ n: 1 }, { id: 'again-1' })]);
      const [first] = await drain(connector, (got) => got.length > 0, { settle: 'none' });
      expect(first?.id).to.equal('again-1');
      await connector.settle?.(first as Transaction, { type: 'release', reason: 'shutdown' });
      let settledTwice: unknown;
      try {
        await connector.settle?.(first as Transaction, { type: 'ack' });
      } catch (error) {
        settledTwice = error;
      }
      expect(settledTwice).to.be.instanceOf(SettlementError);
      const [second] = await drain(connector, (got) => got.length > 0, { settle: 'none' });
      expect(second?.id).to.equal('again-1');
      await connector.settle?.(second as Transaction, { type: 'ack' });
    });

    it('one outcome and one settlement per transaction fetched, whatever the handler does', async () => {
      const destination = await fresh();
      const connector = await connectorOn(destination);
      const sent = Array.from({ length: 30 }, (_, n) =>
        createTransaction({ n }, { id: `once-${n}` }),
      );
      await publish(connector, sent);
      const outcomes: Outcome[] = await lastValueFrom(
        consume(
          connector,
          consumerTask({
            process: (tx) => {
              const { n } = tx.payload as { n: number };
              if (n % 5 === 0) throw new NonRetryableError(`fails ${n}`);
              if (n % 7 === 0) throw new TransactionError(`handled ${n}`);
              return n;
            },
            onException: (tx) => {
              if ((tx.payload as { n: number }).n % 5 === 0) throw new NonRetryableError('again');
              return 'handled';
            },
          }),
          { loop: { limit: sent.length, streaming: true, concurrency: { value: 8 } } },
        ).pipe(toArray()),
      );
      expect(ids(outcomes.map((o) => o.transaction)).sort()).to.deep.equal(ids(sent).sort());
      expect(outcomes.filter((o) => o.settleError !== undefined)).to.deep.equal([]);
      await connector.close();
      expect(await destination.outstanding(), 'left after the run').to.equal(0);
    });

    if (has('orderPerKey'))
      it('transactions of one key are fetched in the order they were dispatched', async () => {
        const destination = await fresh();
        const connector = await connectorOn(destination);
        const keys = ['customer-1', 'customer-2', 'customer-3'];
        const sent = Array.from({ length: 24 }, (_, n) =>
          createTransaction({ n }, { id: `order-${n}`, metadata: { key: keys[n % keys.length] } }),
        );
        await publish(connector, sent);
        const seen = await drain(connector, (got) => got.length >= sent.length, { size: 5 });
        expect(ids(seen).sort()).to.deep.equal(ids(sent).sort());
        for (const key of keys) {
          const fetched = seen.filter((tx) => tx.metadata['key'] === key);
          const dispatched = sent.filter((tx) => tx.metadata['key'] === key);
          expect(ids(fetched), `the order of ${key}`).to.deep.equal(ids(dispatched));
        }
      });

    it('metadata.key and the trace context cross a hop', async () => {
      const destination = await fresh();
      const connector = await connectorOn(destination);
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      await publish(connector, [
        createTransaction({ n: 1 }, { id: 'hop-1', metadata: { key: 'customer-7', traceparent } }),
        createTransaction({ n: 2 }, { id: 'hop-2' }),
      ]);
      const seen = await drain(connector, (got) => got.length >= 2);
      const byId = new Map(seen.map((tx) => [tx.id, tx]));
      expect(byId.get('hop-1')?.metadata['key']).to.equal('customer-7');
      expect(byId.get('hop-1')?.metadata['traceparent']).to.equal(traceparent);
      expect(byId.get('hop-2')?.metadata['key']).to.equal(undefined);
    });

    it('an undecodable body becomes a decode error for the exception handler, not a crash', async () => {
      const destination = await fresh();
      const connector = await connectorOn(destination);
      await destination.publishRaw([{ id: 'raw-bad', body: Buffer.from('{"n": 1, "trunc') }]);
      await publish(connector, [createTransaction({ n: 2 }, { id: 'raw-good' })]);
      const errors: TransactionError[] = [];
      const outcomes = await lastValueFrom(
        consume(
          connector,
          consumerTask({
            process: (tx) => tx.payload,
            onException: (_tx, error) => {
              errors.push(error);
              return 'noted';
            },
          }),
          { loop: { limit: 2, streaming: true } },
        ).pipe(toArray()),
      );
      expect(outcomes.map((o) => `${o.transaction.id}:${o.status}`).sort()).to.deep.equal([
        'raw-bad:exception',
        'raw-good:success',
      ]);
      expect(errors.map((error) => error.stage)).to.deep.equal(['decode']);
    });

    it('a consumer killed (SIGKILL) mid-batch loses nothing: what it held is delivered again', async () => {
      const destination = await fresh();
      const producer = await connectorOn(destination);
      const sent = Array.from({ length: 40 }, (_, n) =>
        createTransaction({ n }, { id: `kill-${n}` }),
      );
      await publish(producer, sent);
      await producer.close();
      const log = join(directory, `${destination.endpoint.destination}.log`);
      const child = spawn(process.execPath, ['--import', 'tsx', worker], {
        env: {
          ...childEnvironment(),
          ERGON_CONTRACT_ENDPOINT: JSON.stringify(destination.endpoint),
          ERGON_CONTRACT_LOG: log,
          ERGON_CONTRACT_PROCESS_MS: '300',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
      const lines = (kind: string): string[] => {
        let text: string;
        try {
          text = readFileSync(log, 'utf8');
        } catch {
          return [];
        }
        return [...text.matchAll(new RegExp(`^${kind} (.+)$`, 'gm'))].map((m) => m[1] as string);
      };
      // Started and not settling yet: held by the handler.
      const inFlight = (): string[] => {
        const settling = new Set([...lines('DONE'), ...lines('SETTLING')]);
        return lines('START').filter((id) => !settling.has(id));
      };
      // Killed after a few settled, while some are in flight (mid-batch).
      const deadline = Date.now() + 30_000;
      while (
        (lines('DONE').length < 6 || inFlight().length === 0) &&
        Date.now() < deadline &&
        child.exitCode === null
      ) {
        await sleep(20);
      }
      expect(lines('DONE').length, `the worker never got going:\n${stderr}`).to.be.at.least(6);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const started = lines('START');
      const done = new Set(lines('DONE'));
      // Processed, their ack on its way at the kill: acked or delivered again, either is right.
      const inDoubt = new Set(lines('SETTLING').filter((id) => !done.has(id)));
      const interrupted = started.filter((id) => !done.has(id) && !inDoubt.has(id));
      expect(interrupted.length, 'transactions in flight at the kill').to.be.greaterThan(0);

      const survivor = await connectorOn(destination, 2);
      const missing = (seen: readonly Transaction[]): string[] => {
        const got = new Set([...done, ...inDoubt, ...ids(seen)]);
        return ids(sent).filter((id) => !got.has(id));
      };
      const seen = await drain(survivor, (got) => missing(got).length === 0, { within: 45_000 });
      expect(missing(seen), 'lost').to.deep.equal([]);
      const redelivered = new Set(ids(seen));
      expect(
        interrupted.filter((id) => !redelivered.has(id)),
        'held by the killed consumer, not delivered again',
      ).to.deep.equal([]);
    });
  });
}
