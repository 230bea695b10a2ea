import { expect } from 'chai';
import pg from 'pg';
import { firstValueFrom, lastValueFrom, Subject, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  decodeFailureOf,
  DeliveryLostError,
  SettlementError,
  TransactionError,
  type ConsumerPolicyInput,
  type Outcome,
  type PayloadCodec,
  type Transaction,
} from '../../../lib/index.js';
import { PayloadDecodeError } from '../../../lib/core/payload-codec.js';
import {
  PostgresConnector,
  PostgresQueueError,
  PostgresService,
  type PostgresConnectorConfigInput,
} from '../../../lib/connectors/postgres/index.js';
import { uniqueName } from '../../support/real-service.js';
import { postgresSuite } from './fixtures/postgres-suite.js';
import { adminQuery, deadRows, eventually, queuedIds, testUrl } from './fixtures/queue-fixture.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const batchPolicy: ConsumerPolicyInput = { loop: { concurrency: { value: 8 } } };

describe('PostgresConnector (real PostgreSQL)', function () {
  this.timeout(20_000);
  const { tables, connectors } = postgresSuite();

  /** A migrated connector on a fresh table. */
  async function queue<P = unknown>(
    config: Partial<PostgresConnectorConfigInput<P>> = {},
  ): Promise<PostgresConnector<P>> {
    const table = config.table ?? uniqueName('ergon_pg');
    if (!tables.includes(table)) tables.push(table);
    const connector = new PostgresConnector<P>({
      connection: { url: testUrl, applicationName: uniqueName('ergon_pg_app') },
      fetchWait: 100,
      ...config,
      table,
    });
    connectors.push(connector);
    await connector.migrate();
    return connector;
  }

  describe('round trip', () => {
    it('dispatches, consumes and acks every transaction, keeping ids, payloads and traceparent', async () => {
      const connector = await queue<{ n: number; text: string }>();
      const sent = Array.from({ length: 50 }, (_, n) =>
        createTransaction(
          { n, text: `order ${n} “ünïcode”` },
          { id: `order-${n}`, metadata: { traceparent, headers: { tenant: 'acme' } } },
        ),
      );
      const report = await connector.dispatch(sent);
      expect(report.failed).to.deep.equal([]);
      const seen: Transaction<{ n: number; text: string }>[] = [];
      const outcomes = await lastValueFrom(
        consume(
          connector,
          consumerTask({
            process: (tx: Transaction<{ n: number; text: string }>) => void seen.push(tx),
          }),
          batchPolicy,
        ).pipe(toArray()),
      );
      expect(outcomes).to.have.length(50);
      expect(outcomes.every((outcome) => outcome.status === 'success')).to.equal(true);
      expect(seen.map((tx) => tx.id).sort()).to.deep.equal(sent.map((tx) => tx.id).sort());
      for (const tx of seen) {
        const n = Number(tx.id.slice('order-'.length));
        expect(tx.payload).to.deep.equal({ n, text: `order ${n} “ünïcode”` });
        expect(tx.metadata).to.include({
          table: `public.${connector.config.table}`,
          deliveryCount: 1,
          redelivered: false,
          traceparent,
        });
        expect(tx.metadata['headers']).to.deep.equal({ tenant: 'acme', traceparent });
        expect(Object.keys(tx.metadata)).not.to.include.members(['lease', 'owner']);
      }
      expect(await queuedIds(connector.config.table)).to.deep.equal([]);
      expect(await deadRows(connector.config.table)).to.deep.equal([]);
    });

    it('claims the rows that became available first', async () => {
      const connector = await queue();
      for (const n of [1, 2, 3]) {
        await connector.dispatch([createTransaction(n, { id: `ordered-${n}` })]);
      }
      const fetched: Transaction[] = [];
      for (let n = 0; n < 3; n++) {
        fetched.push(
          ...(await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()))),
        );
      }
      expect(fetched.map((tx) => tx.id)).to.deep.equal(['ordered-1', 'ordered-2', 'ordered-3']);
      await Promise.all(fetched.map((tx) => connector.settle(tx, { type: 'ack' })));
    });

    it("gives each transaction its own row's created_at as enqueuedAt, and empty headers as {}", async () => {
      const connector = await queue();
      await connector.dispatch(['first-1', 'first-2'].map((id) => createTransaction(id, { id })));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await connector.dispatch([createTransaction('later', { id: 'later' })]);
      const created = await adminQuery<{ id: string; at: string }>(
        `SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
         FROM public."${connector.config.table}"`,
      );
      const fetched = await lastValueFrom(connector.fetch({ size: 3, extra: {} }).pipe(toArray()));
      expect(
        Object.fromEntries(fetched.map((tx) => [tx.id, tx.metadata['enqueuedAt']])),
      ).to.deep.equal(Object.fromEntries(created.map((row) => [row.id, row.at])));
      expect(new Set(created.map((row) => row.at)).size).to.equal(2);
      for (const tx of fetched) {
        expect(tx.metadata['headers']).to.deep.equal({});
        expect(tx.metadata).not.to.have.property('traceparent');
        await connector.settle(tx, { type: 'ack' });
      }
    });

    it('gives rows inserted by plain SQL without an id a UUID', async () => {
      const connector = await queue();
      await adminQuery(
        `INSERT INTO public."${connector.config.table}" (payload) VALUES ('{"a":1}')`,
      );
      const [tx] = await lastValueFrom(connector.fetch({ size: 5, extra: {} }).pipe(toArray()));
      expect(tx?.id).to.match(/^[0-9a-f-]{36}$/);
      expect(tx?.payload).to.deep.equal({ a: 1 });
      await connector.settle(tx as Transaction, { type: 'ack' });
    });

    it('stores bytes as they are with a bytea payload column and a custom codec', async () => {
      const reversed: PayloadCodec<string> = {
        contentType: 'text/reversed',
        encode: (payload) => Buffer.from(Array.from(payload).reverse().join(''), 'utf8'),
        decode: (body) => Array.from(Buffer.from(body).toString('utf8')).reverse().join(''),
      };
      const connector = await queue<string>({ payloadType: 'bytea', codec: reversed });
      await connector.dispatch([createTransaction('hello', { id: 'b-1' })]);
      const stored = await adminQuery<{ payload: Buffer }>(
        `SELECT payload FROM public."${connector.config.table}"`,
      );
      expect(stored[0]?.payload.toString('utf8')).to.equal('olleh');
      const [tx] = await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
      expect(tx?.payload).to.equal('hello');
      await connector.settle(tx as Transaction<string>, { type: 'ack' });
    });
  });

  describe('settlement', () => {
    it('ack deletes, deadLetter moves to the dead table with the error, release redelivers', async () => {
      const connector = await queue();
      await connector.dispatch(['a', 'd', 'r'].map((id) => createTransaction(id, { id })));
      const fetched = await lastValueFrom(connector.fetch({ size: 3, extra: {} }).pipe(toArray()));
      const byId = new Map(fetched.map((tx) => [tx.id, tx]));
      const error = new TransactionError('card declined', {
        category: 'business',
        stage: 'process',
      });
      await Promise.all([
        connector.settle(byId.get('a') as Transaction, { type: 'ack' }),
        connector.settle(byId.get('d') as Transaction, { type: 'deadLetter', error }),
        connector.settle(byId.get('r') as Transaction, { type: 'release', reason: 'shutdown' }),
      ]);
      expect(await queuedIds(connector.config.table)).to.deep.equal(['r']);
      const dead = await deadRows(connector.config.table);
      expect(dead).to.deep.equal([
        {
          id: 'd',
          reason: 'deadLetter',
          error: 'TransactionError: card declined',
          deliveries: 1,
          category: 'business',
          stage: 'process',
        },
      ]);
      const [again] = await lastValueFrom(connector.fetch({ size: 3, extra: {} }).pipe(toArray()));
      expect(again?.id).to.equal('r');
      expect(again?.metadata).to.include({ deliveryCount: 2, redelivered: true });
      await connector.settle(again as Transaction, { type: 'ack' });
    });

    it('keeps a released row invisible for releaseDelay', async () => {
      const connector = await queue({ releaseDelay: 400 });
      await connector.dispatch([createTransaction(1, { id: 'delayed' })]);
      const [tx] = await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
      await connector.settle(tx as Transaction, { type: 'release', reason: 'shutdown' });
      const started = Date.now();
      expect(
        await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray())),
      ).to.deep.equal([]);
      await eventually(async () => {
        const rows = await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
        for (const row of rows) await connector.settle(row, { type: 'ack' });
        return rows.length === 1;
      });
      expect(Date.now() - started).to.be.at.least(300);
    });

    it('rejects a second settlement and a transaction it never fetched', async () => {
      const connector = await queue();
      await connector.dispatch([createTransaction(1, { id: 'once' })]);
      const [tx] = await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
      await connector.settle(tx as Transaction, { type: 'ack' });
      let error: unknown;
      await connector.settle(tx as Transaction, { type: 'ack' }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(SettlementError);
      error = undefined;
      await connector
        .settle(createTransaction(1, { id: 'once' }), { type: 'ack' })
        .catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(SettlementError);
    });

    it('reports DeliveryLostError when the lease expired and another consumer claimed the row', async () => {
      const first = await queue();
      const second = await queue({ table: first.config.table });
      await first.dispatch([createTransaction(1, { id: 'stolen' })]);
      const [tx] = await lastValueFrom(first.fetch({ size: 1, extra: {} }).pipe(toArray()));
      // As if the first consumer had stalled past its lease.
      await adminQuery(
        `UPDATE public."${first.config.table}" SET available_at = now() - interval '1 second'`,
      );
      const [again] = await lastValueFrom(second.fetch({ size: 1, extra: {} }).pipe(toArray()));
      expect(again?.id).to.equal('stolen');
      let error: unknown;
      await first.settle(tx as Transaction, { type: 'ack' }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(DeliveryLostError);
      await second.settle(again as Transaction, { type: 'ack' });
      expect(await queuedIds(first.config.table)).to.deep.equal([]);
    });

    it('one ack statement for three rows: only the stolen row is lost, the others are deleted', async () => {
      const first = await queue();
      const second = await queue({ table: first.config.table });
      await first.dispatch(['a', 'b', 'c'].map((id) => createTransaction(id, { id })));
      const fetched = await lastValueFrom(first.fetch({ size: 3, extra: {} }).pipe(toArray()));
      expect(fetched.map((tx) => tx.id).sort()).to.deep.equal(['a', 'b', 'c']);
      await adminQuery(
        `UPDATE public."${first.config.table}" SET available_at = now() - interval '1 second' WHERE id = 'b'`,
      );
      const [stolen] = await lastValueFrom(second.fetch({ size: 3, extra: {} }).pipe(toArray()));
      expect(stolen?.id).to.equal('b');
      // Settled in the same turn: one statement for the three.
      const results = await Promise.allSettled(
        fetched.map((tx) => first.settle(tx, { type: 'ack' })),
      );
      const byId = Object.fromEntries(fetched.map((tx, index) => [tx.id, results[index]?.status]));
      expect(byId).to.deep.equal({ a: 'fulfilled', b: 'rejected', c: 'fulfilled' });
      const rejected = results.find((result) => result.status === 'rejected');
      expect((rejected as PromiseRejectedResult).reason).to.be.instanceOf(DeliveryLostError);
      expect(await queuedIds(first.config.table)).to.deep.equal(['b']);
    });

    it('renews leases of transactions still in flight, so a slow handler keeps its row', async () => {
      const first = await queue({ lease: 300 });
      const second = await queue({ table: first.config.table, lease: 300 });
      await first.dispatch([createTransaction(1, { id: 'slow' })]);
      const [tx] = await lastValueFrom(first.fetch({ size: 1, extra: {} }).pipe(toArray()));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(
        await lastValueFrom(second.fetch({ size: 1, extra: {} }).pipe(toArray())),
      ).to.deep.equal([]);
      await first.settle(tx as Transaction, { type: 'ack' });
      expect(await queuedIds(first.config.table)).to.deep.equal([]);
    });
    it('leases from the moment of the claim: a claim that waited past the lease hands no row to a second worker', async () => {
      const first = await queue({ lease: 2000 });
      const second = await queue({ table: first.config.table, lease: 2000 });
      const ids = ['a', 'b', 'c', 'd', 'e'];
      await first.dispatch(ids.map((id) => createTransaction(id, { id })));
      // A table lock makes the first claim wait longer than the lease.
      const locker = new pg.Client({
        connectionString: testUrl,
        application_name: 'ergon-spec-lock',
      });
      await locker.connect();
      let claimed: Transaction[];
      try {
        await locker.query(`BEGIN; LOCK TABLE public."${first.config.table}" IN EXCLUSIVE MODE`);
        const waiting = lastValueFrom(first.fetch({ size: 5, extra: {} }).pipe(toArray()));
        await new Promise((resolve) => setTimeout(resolve, 2500));
        await locker.query('COMMIT');
        claimed = await waiting;
      } finally {
        await locker.end();
      }
      expect(claimed.map((tx) => tx.id).sort()).to.deep.equal(ids);
      const twice = await lastValueFrom(second.fetch({ size: 5, extra: {} }).pipe(toArray()));
      expect(twice.map((tx) => tx.id)).to.deep.equal([]);
      await Promise.all(claimed.map((tx) => first.settle(tx, { type: 'ack' })));
    });
  });

  describe('poison messages', () => {
    it('moves a row to the dead table after maxDeliveries deliveries', async () => {
      const connector = await queue({ maxDeliveries: 3 });
      await connector.dispatch([createTransaction({ bad: true }, { id: 'poison' })]);
      let attempts = 0;
      const outcomes = await lastValueFrom(
        consume(
          connector,
          consumerTask({
            process: () => {
              attempts++;
              throw new Error('crash');
            },
          }),
          batchPolicy,
        ).pipe(toArray()),
      );
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['failed']);
      // The engine dead-letters a failed transaction at once; redeliveries come from releases.
      const dead = await deadRows(connector.config.table);
      expect(dead.map((row) => row.id)).to.deep.equal(['poison']);
      expect(attempts).to.equal(1);
      await adminQuery(`TRUNCATE public."${connector.config.table}_dead"`);

      // Released (a crash-like redelivery) three times, the fourth claim buries it.
      await connector.dispatch([createTransaction({ bad: true }, { id: 'looping' })]);
      for (let delivery = 1; delivery <= 3; delivery++) {
        const [tx] = await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
        expect(tx?.metadata['deliveryCount']).to.equal(delivery);
        await connector.settle(tx as Transaction, { type: 'release', reason: 'connectionLost' });
      }
      expect(
        await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray())),
      ).to.deep.equal([]);
      const buried = await deadRows(connector.config.table);
      expect(buried).to.have.length(1);
      expect(buried[0]).to.include({ id: 'looping', reason: 'maxDeliveries', deliveries: 3 });
      expect(buried[0]?.error).to.equal('delivered 3 times, maxDeliveries is 3');
      expect(await queuedIds(connector.config.table)).to.deep.equal([]);
    });

    it('buries a row whose consumers keep dying: an expired lease counts as a delivery', async () => {
      const connector = await queue({ maxDeliveries: 2 });
      await connector.dispatch([createTransaction(1, { id: 'crasher' })]);
      for (let delivery = 1; delivery <= 2; delivery++) {
        const [tx] = await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
        expect(tx?.metadata['deliveryCount']).to.equal(delivery);
        // The consumer dies: its lease runs out and it never settles.
        await adminQuery(
          `UPDATE public."${connector.config.table}" SET available_at = now() - interval '1 second'`,
        );
      }
      expect(
        await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray())),
      ).to.deep.equal([]);
      const dead = await deadRows(connector.config.table);
      expect(dead).to.have.length(1);
      expect(dead[0]).to.include({ id: 'crasher', reason: 'maxDeliveries', deliveries: 2 });
    });

    it('hands out the healthy rows of a claim that also buried poison ones', async () => {
      const connector = await queue({ maxDeliveries: 1 });
      await connector.dispatch([
        createTransaction(1, { id: 'p1' }),
        createTransaction(2, { id: 'ok' }),
      ]);
      await adminQuery(
        `UPDATE public."${connector.config.table}" SET deliveries = 1 WHERE id = 'p1'`,
      );
      const fetched = await lastValueFrom(connector.fetch({ size: 2, extra: {} }).pipe(toArray()));
      expect(fetched.map((tx) => tx.id)).to.deep.equal(['ok']);
      await connector.settle(fetched[0] as Transaction, { type: 'ack' });
      expect((await deadRows(connector.config.table)).map((row) => row.id)).to.deep.equal(['p1']);
    });

    it('buries poison rows that fill a whole claim and hands out the healthy row behind them', async () => {
      const connector = await queue({ maxDeliveries: 1 });
      await connector.dispatch([
        createTransaction(1, { id: 'p1' }),
        createTransaction(2, { id: 'p2' }),
      ]);
      await connector.dispatch([createTransaction(3, { id: 'ok' })]);
      await adminQuery(
        `UPDATE public."${connector.config.table}" SET deliveries = 1 WHERE id IN ('p1', 'p2')`,
      );
      const fetched = await lastValueFrom(connector.fetch({ size: 2, extra: {} }).pipe(toArray()));
      expect(fetched.map((tx) => tx.id)).to.deep.equal(['ok']);
      expect(fetched[0]?.metadata).to.include({ deliveryCount: 1 });
      const dead = await deadRows(connector.config.table);
      expect(dead.map((row) => [row.id, row.reason, row.deliveries]).sort()).to.deep.equal([
        ['p1', 'maxDeliveries', 1],
        ['p2', 'maxDeliveries', 1],
      ]);
      expect(await queuedIds(connector.config.table)).to.deep.equal(['ok']);
      await connector.settle(fetched[0] as Transaction, { type: 'ack' });
    });
  });

  describe('undecodable bodies', () => {
    it('routes a bytea body that is not JSON to the exception handler (stage decode) and settles it', async () => {
      const connector = await queue({ payloadType: 'bytea' });
      await connector.dispatch([createTransaction({ fine: true }, { id: 'fine' })]);
      await adminQuery(
        `INSERT INTO public."${connector.config.table}" (id, payload) VALUES ('garbage', '\\xff00fe'::bytea)`,
      );
      const handled: { id: string; stage: string | undefined; cause: unknown }[] = [];
      const outcomes = await lastValueFrom(
        consume(
          connector,
          consumerTask({
            process: () => 'ok',
            onException: (tx, error) => {
              handled.push({ id: tx.id, stage: error.stage, cause: error.cause });
            },
          }),
          batchPolicy,
        ).pipe(toArray()),
      );
      expect(
        outcomes.map((outcome) => `${outcome.transaction.id}:${outcome.status}`).sort(),
      ).to.deep.equal(['fine:success', 'garbage:exception']);
      expect(handled).to.have.length(1);
      expect(handled[0]).to.include({ id: 'garbage', stage: 'decode' });
      expect(handled[0]?.cause).to.be.instanceOf(PayloadDecodeError);
      expect(await queuedIds(connector.config.table)).to.deep.equal([]);
    });

    it('marks a jsonb row its codec rejects as undecodable, keeping the raw text as payload', async () => {
      const strict: PayloadCodec<{ n: number }> = {
        contentType: 'application/json',
        encode: (payload) => Buffer.from(JSON.stringify(payload)),
        decode: (body) => {
          const value = JSON.parse(Buffer.from(body).toString('utf8')) as { n?: unknown };
          if (typeof value.n !== 'number') throw new PayloadDecodeError('n must be a number');
          return { n: value.n };
        },
      };
      const connector = await queue({ codec: strict });
      await adminQuery(
        `INSERT INTO public."${connector.config.table}" (id, payload) VALUES ('wrong', '{"n":"x"}')`,
      );
      const [tx] = await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
      expect(tx?.payload).to.equal('{"n": "x"}');
      expect(decodeFailureOf(tx as Transaction)).to.be.instanceOf(PayloadDecodeError);
      await connector.settle(tx as Transaction<{ n: number }>, { type: 'ack' });
    });
  });

  describe('dispatch', () => {
    it('treats an id already queued with the same payload as an idempotent success, and reports one with another payload as DispatchConflictError', async () => {
      const connector = await queue();
      await connector.dispatch([createTransaction({ v: 1 }, { id: 'same' })]);
      const report = await connector.dispatch([
        createTransaction({ v: 1 }, { id: 'same' }),
        createTransaction({ v: 2 }, { id: 'same' }),
        createTransaction({ v: 3 }, { id: 'other' }),
        createTransaction({ v: 4 }, { id: 'other' }),
        createTransaction({ v: 3 }, { id: 'other' }),
      ]);
      expect(
        report.failed.map((f) => [
          f.transaction.id,
          (f.transaction.payload as { v: number }).v,
          (f.error as Error).name,
        ]),
      ).to.have.deep.members([
        ['same', 2, 'DispatchConflictError'],
        ['other', 4, 'DispatchConflictError'],
      ]);
      const rows = await adminQuery<{ id: string; payload: { v: number } }>(
        `SELECT id, payload FROM public."${connector.config.table}" ORDER BY id`,
      );
      expect(rows).to.deep.equal([
        { id: 'other', payload: { v: 3 } },
        { id: 'same', payload: { v: 1 } },
      ]);
    });

    it('reports payloads that cannot be encoded or stored one by one, and stores the rest', async () => {
      const connector = await queue({ dispatchBatch: 2 });
      const good = [1, 2, 3].map((n) => createTransaction({ n }, { id: `good-${n}` }));
      const notJson = createTransaction(undefined, { id: 'undefined' });
      const nulChar = createTransaction({ text: 'a\u0000b' }, { id: 'nul' });
      const report = await connector.dispatch([
        good[0],
        notJson,
        good[1],
        nulChar,
        good[2],
      ] as Transaction[]);
      expect(report.failed.map((failure) => failure.transaction.id).sort()).to.deep.equal([
        'nul',
        'undefined',
      ]);
      expect(await queuedIds(connector.config.table)).to.deep.equal(['good-1', 'good-2', 'good-3']);
    });

    it('explains a missing table', async () => {
      const connector = new PostgresConnector({
        connection: { url: testUrl },
        table: uniqueName('ergon_pg_missing'),
      });
      connectors.push(connector);
      let error: unknown;
      await connector.dispatch([createTransaction(1)]).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(PostgresQueueError);
      expect((error as Error).message).to.match(/call migrate\(\) first/);
      error = undefined;
      await firstValueFrom(connector.fetch({ size: 1, extra: {} }), {
        defaultValue: undefined,
      }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(PostgresQueueError);
    });
  });

  describe('fetch', () => {
    it('waits for a NOTIFY instead of polling, and wakes at once on a dispatch', async () => {
      const consumer = await queue({ fetchWait: 5000 });
      const producer = await queue({ table: consumer.config.table });
      const started = Date.now();
      const fetching = lastValueFrom(consumer.fetch({ size: 5, extra: {} }).pipe(toArray()));
      setTimeout(() => void producer.dispatch([createTransaction(1, { id: 'wake' })]), 500);
      const fetched = await fetching;
      expect(fetched.map((tx) => tx.id)).to.deep.equal(['wake']);
      expect(Date.now() - started).to.be.within(500, 2000);
      await consumer.settle(fetched[0] as Transaction, { type: 'ack' });
    });

    it('completes empty after fetchWait when nothing arrives', async () => {
      const connector = await queue({ fetchWait: 300 });
      const started = Date.now();
      expect(
        await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray())),
      ).to.deep.equal([]);
      expect(Date.now() - started).to.be.within(250, 2000);
    });

    it('stops waiting at once when unsubscribed', async () => {
      const connector = await queue({ fetchWait: 10_000 });
      const subscription = connector.fetch({ size: 1, extra: {} }).subscribe();
      await new Promise((resolve) => setTimeout(resolve, 100));
      subscription.unsubscribe();
      const started = Date.now();
      await connector.close();
      expect(Date.now() - started).to.be.below(1000);
    });

    it('returns at most the requested number and hands back rows it claimed but did not emit', async () => {
      const connector = await queue();
      await connector.dispatch([1, 2, 3, 4, 5].map((n) => createTransaction(n, { id: `n${n}` })));
      const fetched = await lastValueFrom(connector.fetch({ size: 2, extra: {} }).pipe(toArray()));
      expect(fetched).to.have.length(2);
      // take(1) unsubscribes after the first of three claimed rows: the other two go back.
      const subject = new Subject<Transaction>();
      const first = firstValueFrom(subject);
      const subscription = connector.fetch({ size: 3, extra: {} }).subscribe((tx) => {
        subject.next(tx);
        subscription?.unsubscribe();
      });
      const kept = await first;
      await eventually(
        async () => {
          const rows = await adminQuery<{ n: number }>(
            `SELECT count(*)::int AS n FROM public."${connector.config.table}" WHERE lease_owner IS NULL AND deliveries = 0`,
          );
          return rows[0]?.n === 2;
        },
        5000,
        'unclaimed rows',
      );
      for (const tx of [...fetched, kept]) await connector.settle(tx, { type: 'ack' });
      expect(await queuedIds(connector.config.table)).to.have.length(2);
    });

    it('counts waiting rows and looks one up by id', async () => {
      const connector = await queue();
      await connector.dispatch([
        createTransaction({ x: 1 }, { id: 'x1' }),
        createTransaction({ x: 2 }, { id: 'x2' }),
      ]);
      expect(await firstValueFrom(connector.count())).to.equal(2);
      const [tx] = await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
      expect(await firstValueFrom(connector.count())).to.equal(1);
      const found = await firstValueFrom(connector.fetchById('x2'));
      expect(found).to.deep.include({ id: 'x2', payload: { x: 2 } });
      expect(await firstValueFrom(connector.fetchById('nope'))).to.equal(undefined);
      await connector.settle(tx as Transaction, { type: 'ack' });
      expect(await firstValueFrom(connector.health())).to.include({
        healthy: true,
        state: 'connected',
      });
    });
  });

  describe('migrate', () => {
    it('is idempotent and safe to run from several connectors at once', async () => {
      const table = uniqueName('ergon_pg_migrate');
      tables.push(table);
      const many = Array.from({ length: 6 }, () => {
        const connector = new PostgresConnector({ connection: { url: testUrl }, table });
        connectors.push(connector);
        return connector;
      });
      await Promise.all(many.map((connector) => connector.migrate()));
      await Promise.all(many.map((connector) => connector.migrate()));
      const triggers = await adminQuery(
        `SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal`,
        [`public."${table}"`],
      );
      expect(triggers).to.deep.equal([{ tgname: 'ergon_notify' }]);
    });

    it('refuses a table whose payload column has another type', async () => {
      const connector = await queue();
      const bytea = new PostgresConnector({
        connection: { url: testUrl },
        table: connector.config.table,
        payloadType: 'bytea',
      });
      connectors.push(bytea);
      let error: unknown;
      await bytea.migrate().catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(PostgresQueueError);
      expect((error as Error).message).to.match(
        /payload column of type jsonb, the config says bytea/,
      );
    });
  });

  describe('connection', () => {
    it('keeps retrying a fetch while the server is unreachable, reports it unhealthy, and closes promptly', async () => {
      const connector = new PostgresConnector({
        connection: { url: 'postgres://postgres@127.0.0.1:1/test', reconnect: { backoff: 20 } },
        table: 'unreachable',
      });
      connectors.push(connector);
      const received: Transaction[] = [];
      let failed: unknown;
      const subscription = connector
        .fetch({ size: 1, extra: {} })
        .subscribe({ next: (tx) => received.push(tx), error: (e: unknown) => (failed = e) });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(failed).to.equal(undefined);
      expect(connector.service.state).to.equal('reconnecting');
      const health = await firstValueFrom(connector.health());
      expect(health).to.include({ healthy: false, state: 'reconnecting' });
      expect(health.detail).to.match(/ECONNREFUSED/);
      subscription.unsubscribe();
      const started = Date.now();
      await connector.close();
      expect(Date.now() - started).to.be.below(1000);
      expect(await firstValueFrom(connector.health())).to.include({
        healthy: false,
        state: 'closed',
      });
    });

    it('shares one service between connectors and leaves it open when they close', async () => {
      const service = new PostgresService({ url: testUrl, poolSize: 2 });
      try {
        const table = uniqueName('ergon_pg_shared');
        tables.push(table);
        const producer = new PostgresConnector({ table }, { service });
        const consumer = new PostgresConnector({ table, fetchWait: 100 }, { service });
        await producer.migrate();
        await producer.dispatch([createTransaction('shared', { id: 'shared' })]);
        await producer.close();
        const [tx] = await lastValueFrom(consumer.fetch({ size: 1, extra: {} }).pipe(toArray()));
        expect(tx?.payload).to.equal('shared');
        await consumer.settle(tx as Transaction, { type: 'ack' });
        await consumer.close();
        expect(service.state).to.equal('connected');
        expect((await service.pool.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
      } finally {
        await service.close();
      }
    });
  });

  describe('close', () => {
    it('is prompt and releases unsettled transactions to another consumer', async () => {
      const first = await queue({ lease: 60_000 });
      const second = await queue({ table: first.config.table, lease: 60_000 });
      await first.dispatch([1, 2, 3].map((n) => createTransaction(n, { id: `c${n}` })));
      const outcomes: Outcome[] = [];
      let loopError: unknown;
      let release: () => void = () => undefined;
      const blocked = new Promise<void>((resolve) => (release = resolve));
      const subscription = consume(
        first,
        consumerTask({ process: () => blocked }),
        batchPolicy,
      ).subscribe({
        next: (outcome) => outcomes.push(outcome),
        error: (e: unknown) => (loopError = e),
      });
      await eventually(async () => (await firstValueFrom(first.count())) === 0, 5000, 'claims');
      const started = Date.now();
      await first.close();
      expect(Date.now() - started).to.be.below(2000);
      const taken = await lastValueFrom(second.fetch({ size: 5, extra: {} }).pipe(toArray()));
      expect(taken.map((tx) => tx.id).sort()).to.deep.equal(['c1', 'c2', 'c3']);
      release();
      await eventually(() => outcomes.length === 3, 5000, 'outcomes');
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal([
        'released',
        'released',
        'released',
      ]);
      expect(
        outcomes.map((outcome) => outcome.status === 'released' && outcome.reason),
      ).to.deep.equal(['connectionLost', 'connectionLost', 'connectionLost']);
      // The loop's next fetch finds the connector closed.
      await eventually(() => loopError !== undefined, 5000, 'loop error');
      expect(String(loopError)).to.match(/is closed/);
      subscription.unsubscribe();
      for (const tx of taken) await second.settle(tx, { type: 'ack' });
    });
  });
});
