import { jetstream } from '@nats-io/jetstream';
import { expect } from 'chai';
import { lastValueFrom, take, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  DeliveryLostError,
  PayloadDecodeError,
  TransactionError,
  type Transaction,
} from '../../../lib/index.js';
import type {
  NatsConnector,
  NatsConnectorConfigInput,
} from '../../../lib/connectors/nats/index.js';
import { fetchAll, sleep, waitFor } from './fixtures/nats-spec-support.js';
import { natsSuite } from './fixtures/nats-suite.js';

type Payload = { n: number };

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('NatsConnector (real NATS JetStream)', function () {
  this.timeout(20_000);
  const suite = natsSuite(250);

  function connector<P = Payload>(config: NatsConnectorConfigInput<P>): NatsConnector<P> {
    return suite.connector(config);
  }

  function numbered(count: number, prefix = 'tx'): Transaction<Payload>[] {
    return Array.from({ length: count }, (_, n) =>
      createTransaction({ n }, { id: `${prefix}-${n}`, metadata: { traceparent } }),
    );
  }

  it('round trip: dispatch → consume → ack keeps ids, payloads and the trace parent, and empties the stream', async () => {
    const stream = suite.admin.streamName();
    const nats = connector({ stream });
    const sent = numbered(50);
    const report = await nats.dispatch(sent);
    expect(report.failed).to.deep.equal([]);
    expect(await lastValueFrom(nats.count())).to.equal(50);

    const outcomes = await lastValueFrom(
      consume(nats, consumerTask({ process: (tx: Transaction<Payload>) => tx.payload.n }), {
        loop: { mode: 'continuous', concurrency: { value: 8 } },
      }).pipe(toArray()),
    );

    expect(outcomes.map((o) => o.status)).to.deep.equal(Array(50).fill('success'));
    const received = new Map(outcomes.map((o) => [o.transaction.id, o.transaction]));
    expect([...received.keys()].sort()).to.deep.equal(sent.map((tx) => tx.id).sort());
    for (const tx of sent) {
      const got = received.get(tx.id) as Transaction<Payload>;
      expect(got.payload).to.deep.equal(tx.payload);
      expect(got.metadata).to.include({
        stream,
        subject: stream,
        consumer: `${stream}_ergon`,
        deliveryCount: 1,
        redelivered: false,
        traceparent,
      });
      expect((got.metadata['headers'] as Record<string, string>)['Nats-Msg-Id']).to.equal(tx.id);
      // Serialisable: no broker handle hides in the metadata.
      expect(JSON.parse(JSON.stringify(got.metadata))).to.deep.equal(got.metadata);
    }
    await suite.admin.drained(stream, `${stream}_ergon`);
    expect(await lastValueFrom(nats.count())).to.equal(0);
  });

  it('fetch returns at most size at once, waits fetchWait on an empty stream, and a cancelled fetch swallows nothing', async () => {
    const stream = suite.admin.streamName();
    const nats = connector({ stream, fetchWait: 400 });
    await nats.declare();
    await nats.dispatch(numbered(5));

    let started = Date.now();
    const first = await fetchAll(nats, 3);
    expect(first).to.have.length(3);
    expect(Date.now() - started).to.be.below(350);
    const rest = await fetchAll(nats, 10);
    expect(rest).to.have.length(2);
    for (const tx of [...first, ...rest]) await nats.settle(tx, { type: 'ack' });

    started = Date.now();
    expect(await fetchAll(nats, 10)).to.deep.equal([]);
    expect(Date.now() - started).to.be.within(350, 1500);

    // A waiting fetch cancelled early: a message published afterwards is not swallowed.
    const waiting = nats.fetch({ size: 10, extra: {} }).subscribe();
    await sleep(50);
    waiting.unsubscribe();
    await nats.dispatch([createTransaction({ n: 99 }, { id: 'late' })]);
    const late = await fetchAll(nats, 10);
    expect(late.map((tx) => [tx.id, tx.metadata['deliveryCount']])).to.deep.equal([['late', 1]]);
    await nats.settle(late[0] as Transaction<Payload>, { type: 'ack' });

    // A fetch unsubscribed after its first message hands the rest back at once.
    await nats.dispatch(numbered(5, 'again'));
    const taken = await lastValueFrom(nats.fetch({ size: 5, extra: {} }).pipe(take(1), toArray()));
    expect(taken).to.have.length(1);
    started = Date.now();
    const handedBack: Transaction<Payload>[] = [];
    await waitFor(
      async () => {
        handedBack.push(...(await fetchAll(nats, 10)));
        return handedBack.length === 4;
      },
      5000,
      'the other four messages',
    );
    expect(Date.now() - started).to.be.below(3000);
    for (const tx of [...taken, ...handedBack]) await nats.settle(tx, { type: 'ack' });
    await suite.admin.drained(stream);
  });

  it('settles: ack removes, deadLetter copies to the dead-letter stream with the error, release redelivers', async () => {
    const stream = suite.admin.streamName();
    const nats = connector({ stream });
    await nats.dispatch(numbered(3));
    const [acked, dead, released] = (await fetchAll(nats, 3)) as [
      Transaction<Payload>,
      Transaction<Payload>,
      Transaction<Payload>,
    ];

    await nats.settle(acked, { type: 'ack' });
    const error = new TransactionError('process of transaction tx-1 failed: Error: no stock', {
      category: 'business',
      stage: 'process',
      transactionId: dead.id,
      cause: new RangeError('no stock'),
    });
    await nats.settle(dead, { type: 'deadLetter', error });
    await nats.settle(released, { type: 'release', reason: 'shutdown' });

    const again = await fetchAll(nats, 3);
    expect(again.map((tx) => tx.id)).to.deep.equal([released.id]);
    expect(again[0]?.metadata).to.include({ deliveryCount: 2, redelivered: true });
    await nats.settle(again[0] as Transaction<Payload>, { type: 'ack' });
    await suite.admin.drained(stream);

    const [copy] = await suite.admin.stored(`${stream}_DEAD`);
    expect(copy?.json()).to.deep.equal(dead.payload);
    const header = (name: string): string | undefined => copy?.header.get(name);
    expect(header('Ergon-Error')).to.equal(error.message);
    expect(header('Ergon-Error-Type')).to.equal('RangeError');
    expect(header('Ergon-Error-Category')).to.equal('business');
    expect(header('Ergon-Error-Stage')).to.equal('process');
    expect(header('Ergon-Transaction-Id')).to.equal(dead.id);
    expect(header('Ergon-Source-Stream')).to.equal(stream);
    expect(header('Ergon-Delivery-Count')).to.equal('1');
    expect(header('traceparent')).to.equal(traceparent);

    expect(() => nats.settle(acked, { type: 'ack' })).to.throw(/settled twice/);
  });

  it('dead-letters a poison message after maxDeliveries deliveries, counting abandoned ones', async () => {
    const stream = suite.admin.streamName();
    const nats = connector({ stream, maxDeliveries: 2, ackWait: 1000, renewLease: false });
    await nats.dispatch([createTransaction({ n: 1 }, { id: 'poison' })]);

    const [first] = await fetchAll(nats, 1);
    expect(first?.metadata['deliveryCount']).to.equal(1);
    await nats.settle(first as Transaction<Payload>, { type: 'release', reason: 'loopTimeout' });
    const [second] = await fetchAll(nats, 1);
    expect(second?.metadata['deliveryCount']).to.equal(2);
    // The worker "crashes": never settles; the lease runs out and JetStream redelivers.
    await sleep(1200);

    expect(await fetchAll(nats, 1)).to.deep.equal([]);
    await waitFor(
      async () => (await suite.admin.messages(`${stream}_DEAD`)) === 1,
      5000,
      'dead letter',
    );
    await waitFor(
      async () => (await suite.admin.messages(stream)) === 0,
      5000,
      'terminated original',
    );
    const [copy] = await suite.admin.stored(`${stream}_DEAD`);
    expect(copy?.header.get('Ergon-Error-Type')).to.equal('MaxDeliveriesExceeded');
    expect(copy?.header.get('Ergon-Delivery-Count')).to.equal('3');
    expect(copy?.header.get('Ergon-Error')).to.match(/delivered 3 times \(maxDeliveries 2\)/);
    expect(copy?.header.get('Ergon-Transaction-Id')).to.equal('poison');
    expect(nats.settle.bind(nats, second as Transaction<Payload>, { type: 'ack' })).not.to.throw();
  });

  it('routes an undecodable body to the exception handler (stage decode) and settles it', async () => {
    const stream = suite.admin.streamName();
    const nats = connector({ stream });
    await nats.declare();
    const js = jetstream(suite.admin.connection);
    await js.publish(stream, 'not json {', { msgID: 'garbled-1' });
    await js.publish(stream, new Uint8Array([0xff, 0xfe]), { msgID: 'garbled-2' });

    const seen: TransactionError[] = [];
    const handled = await lastValueFrom(
      consume(
        nats,
        consumerTask({
          process: () => expect.fail('process must not run for an undecodable body'),
          onException: (tx: Transaction<Payload>, error: TransactionError) => {
            if (tx.id === 'garbled-2') throw error;
            seen.push(error);
          },
        }),
        { loop: { concurrency: { value: 2 } } },
      ).pipe(toArray()),
    );

    expect(handled.map((o) => [o.transaction.id, o.status]).sort()).to.deep.equal([
      ['garbled-1', 'exception'],
      ['garbled-2', 'failed'],
    ]);
    expect(seen).to.have.length(1);
    expect(seen[0]?.stage).to.equal('decode');
    expect(seen[0]?.cause).to.be.instanceOf(PayloadDecodeError);
    await suite.admin.drained(stream);
    const [copy] = await suite.admin.stored(`${stream}_DEAD`);
    expect(copy?.header.get('Ergon-Transaction-Id')).to.equal('garbled-2');
    expect(copy?.header.get('Ergon-Error-Stage')).to.equal('decode');
    expect([...(copy?.data ?? [])]).to.deep.equal([0xff, 0xfe]);
  });

  it('dispatch reports per-transaction failures and drops a re-sent id', async () => {
    const stream = suite.admin.streamName();
    const nats = connector<unknown>({ stream });
    const good = createTransaction({ n: 1 }, { id: 'good' });
    const bad = createTransaction({ n: 10n }, { id: 'bad' });
    const report = await nats.dispatch([
      good,
      bad,
      createTransaction({ n: 2 }, { id: 'also-good' }),
    ]);
    expect(report.failed.map((failure) => failure.transaction.id)).to.deep.equal(['bad']);
    expect(report.failed[0]?.error).to.be.instanceOf(TypeError);

    expect((await nats.dispatch([good])).failed).to.deep.equal([]);
    expect(await suite.admin.messages(stream)).to.equal(2);
  });

  it('close() is prompt and releases unsettled messages to another consumer at once', async () => {
    const stream = suite.admin.streamName();
    const first = connector({ stream });
    await first.dispatch(numbered(5));
    const held = await fetchAll(first, 5);
    expect(held).to.have.length(5);
    const pending = first.fetch({ size: 5, extra: {} });
    let pendingCompleted = false;
    pending.subscribe({ complete: () => (pendingCompleted = true) });

    const started = Date.now();
    await first.close();
    expect(Date.now() - started).to.be.below(2000);
    expect(pendingCompleted).to.equal(true);
    expect(await lastValueFrom(first.health())).to.deep.equal({ healthy: false, state: 'closed' });
    expect(() => first.settle(held[0] as Transaction<Payload>, { type: 'ack' })).to.throw(
      DeliveryLostError,
    );

    const second = connector({ stream });
    const redelivered = await fetchAll(second, 10);
    expect(redelivered.map((tx) => tx.id).sort()).to.deep.equal(held.map((tx) => tx.id).sort());
    expect(redelivered.every((tx) => tx.metadata['deliveryCount'] === 2)).to.equal(true);
    for (const tx of redelivered) await second.settle(tx, { type: 'ack' });
    expect(await lastValueFrom(second.health())).to.include({ healthy: true, state: 'connected' });
  });

  it('renews the lease of a slow transaction so no other worker gets it meanwhile', async () => {
    const stream = suite.admin.streamName();
    const slow = connector({ stream, ackWait: 900 });
    const other = connector({ stream, ackWait: 900 });
    await slow.dispatch(numbered(1));
    const [held] = await fetchAll(slow, 1);
    const started = Date.now();
    while (Date.now() - started < 2200) {
      expect(await fetchAll(other, 1)).to.deep.equal([]);
    }
    await slow.settle(held as Transaction<Payload>, { type: 'ack' });
    await suite.admin.drained(stream, `${stream}_ergon`);
  });

  it('confirms acks with ackConfirm', async () => {
    const stream = suite.admin.streamName();
    const nats = connector({ stream, ackConfirm: true });
    await nats.dispatch(numbered(2));
    const fetched = await fetchAll(nats, 2);
    await Promise.all(fetched.map(async (tx) => nats.settle(tx, { type: 'ack' })));
    await suite.admin.drained(stream);
  });
});
