import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  DeliveryLostError,
  RetryLaterError,
  TransactionError,
  type Outcome,
  type Stage,
  type Transaction,
} from '../../../lib/index.js';
import {
  StreamEntryTrimmedError,
  type RedisConnector,
  type RedisTransactionMetadata,
} from '../../../lib/connectors/redis/index.js';
import { uniqueName } from '../../support/real-service.js';
import {
  deliverTo,
  deliveryCount,
  entriesOf,
  numbered,
  pendingCount,
} from './fixtures/redis-spec-support.js';
import { redisSuite } from './fixtures/redis-suite.js';

type Payload = { n: number };

function fetchAll<P>(connector: RedisConnector<P>, size: number): Promise<Transaction<P>[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

function metadataOf(tx: Transaction): RedisTransactionMetadata {
  return tx.metadata as unknown as RedisTransactionMetadata;
}

describe('RedisConnector settlement (real Redis)', function () {
  const suite = redisSuite(50);

  function connectorFor(
    stream: string,
    extra: { claimIdle?: number; maxDeliveries?: number; deleteOnAck?: boolean } = {},
  ): RedisConnector<Payload> {
    return suite.connector<Payload>(stream, extra);
  }

  it('ack removes the entry from the pending list (and deleteOnAck from the stream)', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream);
    await connector.dispatch(numbered('ack', 3));
    const fetched = await fetchAll(connector, 3);
    expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(3);
    await Promise.all(fetched.map((tx) => connector.settle(tx, { type: 'ack' })));
    expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);
    expect(await suite.admin.xlen(stream)).to.equal(3);

    const deleting = uniqueName('ergon_redis');
    const deleter = connectorFor(deleting, { deleteOnAck: true });
    await deleter.dispatch(numbered('del', 2));
    for (const tx of await fetchAll(deleter, 2)) await deleter.settle(tx, { type: 'ack' });
    expect(await suite.admin.xlen(deleting)).to.equal(0);
  });

  it('deadLetter copies the entry with the error to <stream>:dead and acks it', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream);
    await connector.dispatch(numbered('dl', 2));
    const task = consumerTask({
      process: (tx: Transaction<Payload>) => {
        if (tx.payload.n === 1) throw new Error('no stock for item 1');
        return tx.payload.n;
      },
    });
    const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
    expect(outcomes.map((outcome) => outcome.status).sort()).to.deep.equal(['failed', 'success']);
    expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);

    const dead = await entriesOf(suite.admin, `${stream}:dead`);
    expect(dead).to.have.length(1);
    const fields = dead[0]?.fields ?? {};
    expect(fields).to.include({
      id: 'dl-1',
      body: '{"n":1}',
      reason: 'failed',
      errorCategory: 'system',
      errorStage: 'process',
      deliveries: '1',
      sourceStream: stream,
      sourceGroup: 'ergon',
    });
    expect(fields['error']).to.match(/no stock for item 1/);
    expect(fields['sourceEntryId']).to.match(/^\d+-\d+$/);
  });

  it('a dead letter consumed again keeps id and payload, with the error in its headers', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream);
    await connector.dispatch(numbered('again', 1));
    const [tx] = await fetchAll(connector, 1);
    const error = new TransactionError('bad data', { category: 'business', stage: 'process' });
    await connector.settle(tx as Transaction<Payload>, { type: 'deadLetter', error });
    const deadReader = connectorFor(`${stream}:dead`);
    const [dead] = await fetchAll(deadReader, 1);
    expect(dead?.id).to.equal('again-0');
    expect(dead?.payload).to.deep.equal({ n: 0 });
    expect(metadataOf(dead as Transaction).headers).to.include({
      error: 'TransactionError: bad data',
      errorCategory: 'business',
    });
    await deadReader.settle(dead as Transaction<Payload>, { type: 'ack' });
  });

  it('release redelivers at once (without waiting for claimIdle), and the delivery count grows', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream, { claimIdle: 60_000 });
    await connector.dispatch(numbered('rel', 2));
    const first = await fetchAll(connector, 2);
    expect(first.map((tx) => metadataOf(tx).deliveries)).to.deep.equal([1, 1]);
    const released = first[0] as Transaction<Payload>;
    await connector.settle(released, { type: 'release', reason: 'shutdown' });
    await connector.settle(first[1] as Transaction<Payload>, { type: 'ack' });

    const again = await fetchAll(connector, 5);
    expect(again.map((tx) => tx.id)).to.deep.equal([released.id]);
    const metadata = metadataOf(again[0] as Transaction);
    expect(metadata).to.include({
      deliveries: 2,
      redelivered: true,
      entryId: metadataOf(released).entryId,
    });
    expect(await deliveryCount(suite.admin, stream, 'ergon', metadata.entryId)).to.equal(2);
    await connector.settle(again[0] as Transaction<Payload>, { type: 'ack' });
    expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);
  });

  it('a released transaction goes to another consumer of the group at once', async () => {
    const stream = uniqueName('ergon_redis');
    const a = connectorFor(stream, { claimIdle: 60_000 });
    const b = connectorFor(stream, { claimIdle: 60_000 });
    await a.dispatch(numbered('other', 1));
    const [tx] = await fetchAll(a, 1);
    await a.settle(tx as Transaction<Payload>, { type: 'release', reason: 'shutdown' });
    const [taken] = await fetchAll(b, 1);
    expect(taken?.id).to.equal('other-0');
    expect(metadataOf(taken as Transaction).consumer).to.equal(b.consumer);
    await b.settle(taken as Transaction<Payload>, { type: 'ack' });
  });

  it('a dead letter after another consumer claimed the entry leaves that claim alone (DeliveryLostError)', async () => {
    const stream = uniqueName('ergon_redis');
    const a = connectorFor(stream, { claimIdle: 3000 });
    const b = connectorFor(stream, { claimIdle: 3000 });
    await a.dispatch(numbered('stolen', 1));
    const [tx] = await fetchAll(a, 1);
    const { entryId } = metadataOf(tx as Transaction);
    // As if the first consumer had stalled past claimIdle: the second claims the entry.
    await suite.admin.xclaim(stream, 'ergon', a.consumer, 0, entryId, 'IDLE', 100_000, 'JUSTID');
    const [taken] = await fetchAll(b, 1);
    expect(taken?.id).to.equal('stolen-0');
    const error = new TransactionError('late failure', { category: 'system', stage: 'process' });
    let failure: unknown;
    await a
      .settle(tx as Transaction<Payload>, { type: 'deadLetter', error })
      .catch((e: unknown) => (failure = e));
    expect(failure).to.be.instanceOf(DeliveryLostError);
    expect(await entriesOf(suite.admin, `${stream}:dead`)).to.deep.equal([]);
    expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(1);
    await b.settle(taken as Transaction<Payload>, { type: 'ack' });
    expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);
  });

  describe('entries trimmed while pending', () => {
    it('a dead letter of a trimmed entry carries the id, body and headers the connector held', async () => {
      const stream = uniqueName('ergon_redis');
      const connector = connectorFor(stream);
      await connector.dispatch(numbered('trimmed', 1));
      const [tx] = await fetchAll(connector, 1);
      await suite.admin.xtrim(stream, 'MAXLEN', 0);
      const error = new TransactionError('bad data', { category: 'business', stage: 'process' });
      await connector.settle(tx as Transaction<Payload>, { type: 'deadLetter', error });
      const dead = await entriesOf(suite.admin, `${stream}:dead`);
      expect(dead).to.have.length(1);
      expect(dead[0]?.fields).to.include({
        id: 'trimmed-0',
        body: '{"n":0}',
        reason: 'failed',
        sourceEntryId: metadataOf(tx as Transaction).entryId,
      });
      expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);
    });

    it('a trimmed entry released (renewed while in flight first) goes to the dead-letter stream, reported as trimmed', async () => {
      const stream = uniqueName('ergon_redis');
      const connector = connectorFor(stream, { claimIdle: 150 });
      const other = connectorFor(stream, { claimIdle: 150 });
      await connector.dispatch(numbered('gone', 1));
      const [tx] = await fetchAll(connector, 1);
      await suite.admin.xtrim(stream, 'MAXLEN', 0);
      // Lease renewals and another consumer's claims run meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await fetchAll(other, 1)).to.deep.equal([]);
      let failure: unknown;
      await connector
        .settle(tx as Transaction<Payload>, { type: 'release', reason: 'shutdown' })
        .catch((e: unknown) => (failure = e));
      expect(failure).to.be.instanceOf(StreamEntryTrimmedError);
      expect((failure as Error).message)
        .to.match(/trimmed/)
        .and.match(new RegExp(`${stream}:dead`));
      const dead = await entriesOf(suite.admin, `${stream}:dead`);
      expect(dead).to.have.length(1);
      expect(dead[0]?.fields).to.include({ id: 'gone-0', body: '{"n":0}', reason: 'trimmed' });
      expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);
    });
  });

  it('settling twice, or a transaction from elsewhere, is a SettlementError', async () => {
    const stream = uniqueName('ergon_redis');
    const connector = connectorFor(stream);
    await connector.dispatch(numbered('twice', 1));
    const [tx] = await fetchAll(connector, 1);
    await connector.settle(tx as Transaction<Payload>, { type: 'ack' });
    let error: unknown;
    await connector
      .settle(tx as Transaction<Payload>, { type: 'ack' })
      .catch((e: unknown) => (error = e));
    expect(error).to.have.property('name', 'SettlementError');
  });

  describe('poison messages', () => {
    it('an entry delivered more than maxDeliveries times (its consumers died) is dead-lettered, not delivered', async () => {
      const stream = uniqueName('ergon_redis');
      const connector = connectorFor(stream, { claimIdle: 50, maxDeliveries: 3 });
      await connector.dispatch(numbered('poison', 2));
      await suite.admin.xgroup('CREATE', stream, 'ergon', '0', 'MKSTREAM').catch(() => undefined);
      // Three consumers take the first entry and die without settling it.
      const [entryId = ''] = await deliverTo(suite.admin, stream, 'ergon', 'ghost-1', 1);
      for (const ghost of ['ghost-2', 'ghost-3']) {
        await new Promise((resolve) => setTimeout(resolve, 60));
        await suite.admin.xclaim(stream, 'ergon', ghost, 50, entryId);
      }
      expect(await deliveryCount(suite.admin, stream, 'ergon', entryId)).to.equal(3);
      await new Promise((resolve) => setTimeout(resolve, 60));

      const task = consumerTask({ process: (tx: Transaction<Payload>) => tx.payload.n });
      const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
      expect(outcomes.map((outcome) => outcome.transaction.id)).to.deep.equal(['poison-1']);
      expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);
      const dead = await entriesOf(suite.admin, `${stream}:dead`);
      expect(dead.map((entry) => entry.fields['id'])).to.deep.equal(['poison-0']);
      expect(dead[0]?.fields).to.include({
        reason: 'maxDeliveries',
        deliveries: '4',
        body: '{"n":0}',
      });
      expect(dead[0]?.fields['error']).to.match(/delivered 4 times, more than maxDeliveries \(3\)/);
    });

    it('a transaction released again and again ends in the dead-letter stream too', async () => {
      const stream = uniqueName('ergon_redis');
      const connector = connectorFor(stream, { claimIdle: 60_000, maxDeliveries: 2 });
      await connector.dispatch(numbered('loop', 1));
      for (let delivery = 1; delivery <= 2; delivery++) {
        const [tx] = await fetchAll(connector, 1);
        expect(metadataOf(tx as Transaction).deliveries).to.equal(delivery);
        await connector.settle(tx as Transaction<Payload>, { type: 'release', reason: 'shutdown' });
      }
      expect(await fetchAll(connector, 1)).to.deep.equal([]);
      const dead = await entriesOf(suite.admin, `${stream}:dead`);
      expect(dead.map((entry) => entry.fields['reason'])).to.deep.equal(['maxDeliveries']);
      expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);
    });
    it('retry-laters count toward maxDeliveries across the delayed set: the transaction is poisoned at the limit, and a redrive counts afresh', async () => {
      const stream = uniqueName('ergon_redis');
      const connector = connectorFor(stream, { claimIdle: 60_000, maxDeliveries: 3 });
      await connector.dispatch(numbered('later', 1));
      const seen: number[] = [];
      const outcomes = await lastValueFrom(
        consume(
          connector,
          consumerTask({
            process: (tx: Transaction<Payload>) => {
              seen.push(metadataOf(tx).deliveries);
              throw new RetryLaterError(20, 'not yet');
            },
          }),
          {
            loop: { mode: 'continuous', streaming: true, limit: 3 },
            fetch: { empty: { backoff: 10, backoffMultiplier: 1 } },
          },
        ).pipe(toArray()),
      );
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(Array(3).fill('released'));
      expect(seen).to.deep.equal([1, 2, 3]);
      // Due again: the fourth delivery would be one too many, so it goes to the dead letters.
      await new Promise((resolve) => setTimeout(resolve, 40));
      expect(await fetchAll(connector, 1)).to.deep.equal([]);
      expect(await suite.admin.zcard(`${stream}:delayed`)).to.equal(0);
      const dead = await entriesOf(suite.admin, `${stream}:dead`);
      expect(dead.map((entry) => entry.fields['reason'])).to.deep.equal(['maxDeliveries']);
      expect(dead[0]?.fields).to.include({ id: 'later-0', deliveries: '3' });
      expect(dead[0]?.fields).to.not.have.property('ergon-deliveries');
      expect(dead[0]?.fields['error']).to.match(/delivered 3 times and retried later/);

      await connector.deadLetters().redrive();
      const [again] = await fetchAll(connector, 1);
      expect(again?.id).to.equal('later-0');
      expect(metadataOf(again as Transaction).deliveries).to.equal(1);
    });

    it('a transaction back from a retry-later and then released is claimed with its earlier deliveries counted', async () => {
      const stream = uniqueName('ergon_redis');
      const connector = connectorFor(stream, { claimIdle: 60_000, maxDeliveries: 3 });
      await connector.dispatch(numbered('mixed', 1));
      for (let delivery = 1; delivery <= 2; delivery++) {
        const [tx] = await fetchAll(connector, 1);
        expect(metadataOf(tx as Transaction).deliveries).to.equal(delivery);
        await connector.settle(tx as Transaction<Payload>, {
          type: 'release',
          reason: 'retryLater',
          delay: 1,
        });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const [third] = await fetchAll(connector, 1);
      expect(metadataOf(third as Transaction).deliveries).to.equal(3);
      await connector.settle(third as Transaction<Payload>, {
        type: 'release',
        reason: 'shutdown',
      });
      // Claimed again: its entry's second delivery, the transaction's fourth.
      expect(await fetchAll(connector, 1)).to.deep.equal([]);
      const dead = await entriesOf(suite.admin, `${stream}:dead`);
      expect(
        dead.map((entry) => [entry.fields['reason'], entry.fields['deliveries']]),
      ).to.deep.equal([['maxDeliveries', '4']]);
      expect(dead[0]?.fields['error']).to.match(/delivered 4 times, more than maxDeliveries \(3\)/);
    });
  });

  describe('undecodable bodies', () => {
    it('reach the exception handler (stage decode) with the raw body, and are settled', async () => {
      const stream = uniqueName('ergon_redis');
      const connector = connectorFor(stream);
      await connector.dispatch(numbered('fine', 1));
      await suite.admin.xadd(stream, '*', 'id', 'broken', 'body', '{not json');
      await suite.admin.xadd(stream, '*', 'note', 'no body here');
      const handled: { id: string; stage: Stage | undefined; payload: unknown }[] = [];
      const task = consumerTask({
        process: (tx: Transaction<Payload>) => tx.payload.n,
        onException: (tx, error) => {
          handled.push({ id: tx.id, stage: error.stage, payload: tx.payload });
        },
      });
      const outcomes: Outcome<Payload, number>[] = await lastValueFrom(
        consume(connector, task).pipe(toArray()),
      );
      expect(outcomes.map((outcome) => outcome.status).sort()).to.deep.equal([
        'exception',
        'exception',
        'success',
      ]);
      expect(handled.map((entry) => entry.stage)).to.deep.equal(['decode', 'decode']);
      expect(handled[0]?.id).to.equal('broken');
      expect(Buffer.isBuffer(handled[0]?.payload)).to.equal(true);
      expect(String(handled[0]?.payload)).to.equal('{not json');
      expect(handled[1]?.id).to.match(/^\d+-\d+$/);
      expect(await pendingCount(suite.admin, stream, 'ergon')).to.equal(0);
    });

    it('without an exception handler they are dead-lettered', async () => {
      const stream = uniqueName('ergon_redis');
      const connector = connectorFor(stream);
      await suite.admin.xadd(stream, '*', 'id', 'broken', 'body', '\xff\xfe');
      const task = consumerTask({ process: (tx: Transaction<Payload>) => tx.payload.n });
      const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['failed']);
      const dead = await entriesOf(suite.admin, `${stream}:dead`);
      expect(dead[0]?.fields).to.include({ id: 'broken', errorStage: 'decode', reason: 'failed' });
    });
  });
});
