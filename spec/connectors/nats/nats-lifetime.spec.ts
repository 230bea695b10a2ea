import { expect } from 'chai';
import { lastValueFrom } from 'rxjs';
import {
  createTransaction,
  DeliveryLostError,
  TransactionError,
  type Transaction,
} from '../../../lib/index.js';
import {
  NatsDeadLetterError,
  NatsPullError,
  type NatsConnector,
  type NatsConnectorConfigInput,
} from '../../../lib/connectors/nats/index.js';
import { fetchAll, sleep, waitFor } from './fixtures/nats-spec-support.js';
import { natsSuite } from './fixtures/nats-suite.js';

type Payload = { n: number };

/** Blocks the event loop for `ms`, as a CPU-bound handler or a long GC pause would. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

describe('NatsConnector over time: late settlements, deleted and updated topology (real NATS)', function () {
  this.timeout(20_000);
  const suite = natsSuite(200);

  function connector(config: NatsConnectorConfigInput<Payload>): NatsConnector<Payload> {
    return suite.connector(config);
  }

  function numbered(count: number, prefix = 'tx'): Transaction<Payload>[] {
    return Array.from({ length: count }, (_, n) =>
      createTransaction({ n }, { id: `${prefix}-${n}` }),
    );
  }

  it('does not NAK a delivery whose ackWait ran out (another worker has it): no third copy', async () => {
    const stream = suite.admin.streamName();
    const first = connector({ stream, ackWait: 600 });
    const second = connector({ stream, ackWait: 600 });
    await first.dispatch(numbered(1));
    const [held] = await fetchAll(first, 1);
    stall(900);
    const [again] = await fetchAll(second, 1);
    expect(again?.id).to.equal(held?.id);
    expect(again?.metadata['deliveryCount']).to.equal(2);
    let failure: unknown;
    try {
      await first.settle(held as Transaction<Payload>, { type: 'release', reason: 'shutdown' });
    } catch (error) {
      failure = error;
    }
    expect(failure).to.be.instanceOf(DeliveryLostError);
    // The second worker still has it under a live lease: nobody else may get it.
    const third = connector({ stream, ackWait: 600 });
    expect(await fetchAll(third, 1)).to.deep.equal([]);
    await second.settle(again as Transaction<Payload>, { type: 'ack' });
    await suite.admin.drained(stream, `${stream}_ergon`);
  });

  it('close() does not NAK deliveries whose ackWait ran out', async () => {
    const stream = suite.admin.streamName();
    const first = connector({ stream, ackWait: 600 });
    const second = connector({ stream, ackWait: 600 });
    await first.dispatch(numbered(1));
    await fetchAll(first, 1);
    stall(900);
    const [again] = await fetchAll(second, 1);
    expect(again?.metadata['deliveryCount']).to.equal(2);
    await first.close();
    expect(await fetchAll(connector({ stream, ackWait: 600 }), 1)).to.deep.equal([]);
    await second.settle(again as Transaction<Payload>, { type: 'ack' });
  });

  it('updates ackWait and maxAckPending of a deployed consumer (no filter subject)', async () => {
    const stream = suite.admin.streamName();
    await connector({ stream, ackWait: 1000, maxAckPending: 100 }).declare();
    await connector({ stream, ackWait: 2500, maxAckPending: 50 }).declare();
    const info = await suite.admin.jsm.consumers.info(stream, `${stream}_ergon`);
    expect(info.config.ack_wait).to.equal(2500 * 1_000_000);
    expect(info.config.max_ack_pending).to.equal(50);
    expect(info.config.filter_subject ?? '').to.equal('');
  });

  it('recovers a deleted durable consumer it declared: re-declares it and goes on', async () => {
    const stream = suite.admin.streamName();
    // ackConfirm: the ack is on the server before the consumer is deleted from another
    // connection (a plain ack may still be in flight then, and the new consumer would
    // deliver the message again).
    const nats = connector({ stream, ackConfirm: true });
    await nats.dispatch(numbered(1, 'before'));
    const [first] = await fetchAll(nats, 1);
    await nats.settle(first as Transaction<Payload>, { type: 'ack' });
    await suite.admin.jsm.consumers.delete(stream, `${stream}_ergon`);
    await nats.dispatch(numbered(1, 'after'));
    let got: Transaction<Payload>[] = [];
    const started = Date.now();
    await waitFor(
      async () => {
        got = await fetchAll(nats, 1);
        return got.length > 0;
      },
      5000,
      'a message after the consumer was deleted',
    );
    expect(Date.now() - started).to.be.below(5000);
    expect(got.map((tx) => tx.id)).to.deep.equal(['after-0']);
    await nats.settle(got[0] as Transaction<Payload>, { type: 'ack' });
    expect(await lastValueFrom(nats.health())).to.include({ healthy: true });
  });

  it('recovers a deleted stream it declared', async () => {
    const stream = suite.admin.streamName();
    const nats = connector({ stream });
    await nats.declare();
    await suite.admin.jsm.streams.delete(stream);
    await sleep(50);
    expect(await fetchAll(nats, 1)).to.deep.equal([]);
    await nats.dispatch(numbered(1, 'again'));
    let got: Transaction<Payload>[] = [];
    await waitFor(
      async () => {
        got = await fetchAll(nats, 1);
        return got.length > 0;
      },
      5000,
      'a message after the stream was deleted',
    );
    expect(got.map((tx) => tx.id)).to.deep.equal(['again-0']);
    await nats.settle(got[0] as Transaction<Payload>, { type: 'ack' });
  });

  it('declares a deleted dead-letter stream again: the released message is dead-lettered next time', async () => {
    const stream = suite.admin.streamName();
    const nats = connector({ stream });
    await nats.dispatch(numbered(1, 'doomed'));
    const [tx] = await fetchAll(nats, 1);
    await suite.admin.jsm.streams.delete(`${stream}_DEAD`);
    const error = new TransactionError('cannot ship', { category: 'business', stage: 'process' });
    let failure: unknown;
    try {
      await nats.settle(tx as Transaction<Payload>, { type: 'deadLetter', error });
    } catch (caught) {
      failure = caught;
    }
    expect(failure).to.be.instanceOf(NatsDeadLetterError);
    let again: Transaction<Payload>[] = [];
    await waitFor(
      async () => {
        again = await fetchAll(nats, 1);
        return again.length > 0;
      },
      5000,
      'the released message',
    );
    await nats.settle(again[0] as Transaction<Payload>, { type: 'deadLetter', error });
    expect(await suite.admin.messages(`${stream}_DEAD`)).to.equal(1);
    await suite.admin.drained(stream);
  });

  it('fails with NatsPullError and reports unhealthy when a consumer it does not declare was deleted', async () => {
    const stream = suite.admin.streamName();
    await connector({ stream }).declare();
    const nats = connector({ stream, declare: false });
    expect(await fetchAll(nats, 1)).to.deep.equal([]);
    await suite.admin.jsm.consumers.delete(stream, `${stream}_ergon`);
    let failure: unknown;
    const started = Date.now();
    while (failure === undefined && Date.now() - started < 5000) {
      await fetchAll(nats, 1).catch((error: unknown) => (failure = error));
    }
    expect(failure).to.be.instanceOf(NatsPullError);
    expect((failure as Error).message).to.match(
      /consumer .*_ergon.* (was deleted|not found|does not exist)/,
    );
    const health = await lastValueFrom(nats.health());
    expect(health.healthy).to.equal(false);
  });
});
