import type { SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  ConnectionUnavailableError,
  consume,
  consumerTask,
  createTransaction,
  DeliveryLostError,
  SettlementError,
  TransactionError,
  type Outcome,
  type PayloadCodec,
  type Transaction,
} from '../../../lib/index.js';
import {
  SqsConnector,
  SqsSendError,
  type SqsConnectorConfigInput,
  type SqsTransactionMetadata,
} from '../../../lib/connectors/sqs/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import {
  adminClient,
  deleteQueues,
  fetchAll,
  messagesIn,
  numbered,
  peek,
  sendRaw,
  sqsConnection,
} from './fixtures/sqs-spec-support.js';

type Payload = { n: number };

function metadataOf(tx: Transaction): SqsTransactionMetadata {
  return tx.metadata as unknown as SqsTransactionMetadata;
}

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('SqsConnector (real ElasticMQ)', function () {
  this.timeout(20_000);
  let admin: SQSClient;
  const queues: string[] = [];
  const connectors: SqsConnector[] = [];

  function connectorFor<P = Payload>(
    queue: string,
    extra: Partial<SqsConnectorConfigInput<P>> = {},
  ): SqsConnector<P> {
    const dlq = queue.endsWith('.fifo') ? `${queue.slice(0, -5)}-dlq.fifo` : `${queue}-dlq`;
    if (!queues.includes(queue)) queues.push(queue, dlq);
    const connector = new SqsConnector<P>({
      connection: sqsConnection,
      queue,
      fetchWait: 0,
      ...extra,
    });
    connectors.push(connector);
    return connector;
  }

  before(async function () {
    await requireService(this, 'elasticmq');
    admin = adminClient();
  });

  after(async () => {
    await Promise.all(connectors.map((connector) => connector.close()));
    if (admin !== undefined) {
      await deleteQueues(admin, queues);
      admin.destroy();
    }
  });

  it('fetch returns at most request.size transactions, receiving ≤ 10 at a time', async () => {
    const queue = uniqueName('ergon_sqs_size');
    const connector = connectorFor(queue);
    const report = await connector.dispatch(numbered('size', 25));
    expect(report.failed).to.deep.equal([]);
    const first = await fetchAll(connector, 7);
    expect(first).to.have.length(7);
    const rest = await fetchAll(connector, 100);
    expect(rest).to.have.length(18);
    expect(new Set([...first, ...rest].map((tx) => tx.id)).size).to.equal(25);
    expect(await fetchAll(connector, 5)).to.deep.equal([]);
    expect(connector.unsettled).to.equal(25);
    await Promise.all([...first, ...rest].map((tx) => connector.settle(tx, { type: 'ack' })));
  });

  it('ack deletes the message: the queue is empty afterwards, in flight included', async () => {
    const queue = uniqueName('ergon_sqs_ack');
    const connector = connectorFor(queue);
    await connector.dispatch(numbered('ack', 13));
    const fetched = await fetchAll(connector, 13);
    expect(await messagesIn(admin, queue)).to.equal(13);
    await Promise.all(fetched.map((tx) => connector.settle(tx, { type: 'ack' })));
    expect(await messagesIn(admin, queue)).to.equal(0);
    expect(connector.unsettled).to.equal(0);
  });

  it('deadLetter sends the message to <queue>-dlq with the error as attributes, then deletes it', async () => {
    const queue = uniqueName('ergon_sqs_dl');
    const connector = connectorFor(queue);
    await connector.dispatch([
      createTransaction({ n: 0 }, { id: 'dl-0', metadata: { key: 'customer-7', traceparent } }),
      createTransaction({ n: 1 }, { id: 'dl-1' }),
    ]);
    const task = consumerTask({
      process: (tx: Transaction<Payload>) => {
        if (tx.payload.n === 0) throw new Error('no stock for item 0');
        return tx.payload.n;
      },
    });
    const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
    expect(outcomes.map((o) => o.status).sort()).to.deep.equal(['failed', 'success']);
    expect(await messagesIn(admin, queue)).to.equal(0);
    const [dead, ...others] = await peek(admin, `${queue}-dlq`);
    expect(others).to.deep.equal([]);
    expect(dead?.Body).to.equal('{"n":0}');
    const attributes = Object.fromEntries(
      Object.entries(dead?.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]),
    );
    expect(attributes).to.include({
      'ergon-id': 'dl-0',
      'ergon-key': 'customer-7',
      'ergon-error-category': 'system',
      'ergon-error-stage': 'process',
      'ergon-receive-count': '1',
      traceparent,
    });
    expect(attributes['ergon-error']).to.match(/no stock for item 0/);
    expect(attributes['ergon-source-queue']).to.match(new RegExp(`${queue}$`));
  });

  it('release makes the message visible again at once: it is redelivered, receive count 2', async () => {
    const queue = uniqueName('ergon_sqs_release');
    const connector = connectorFor(queue, { visibilityTimeout: '1m' });
    await connector.dispatch(numbered('rel', 1));
    const [tx] = await fetchAll(connector, 1);
    expect(metadataOf(tx as Transaction).redelivered).to.equal(false);
    await connector.settle(tx as Transaction<Payload>, { type: 'release', reason: 'shutdown' });
    const [again] = await fetchAll(connector, 1);
    expect(again?.id).to.equal('rel-0');
    expect(metadataOf(again as Transaction)).to.include({ receiveCount: 2, redelivered: true });
    await connector.settle(again as Transaction<Payload>, { type: 'ack' });
  });

  it('settles each fetched transaction exactly once: a second settle rejects, nothing is sent twice', async () => {
    const queue = uniqueName('ergon_sqs_once');
    const connector = connectorFor(queue);
    await connector.dispatch(numbered('once', 1));
    const [tx] = await fetchAll(connector, 1);
    await connector.settle(tx as Transaction<Payload>, { type: 'ack' });
    let error: unknown;
    try {
      await connector.settle(tx as Transaction<Payload>, {
        type: 'deadLetter',
        error: new TransactionError('x'),
      });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(SettlementError);
    expect(await messagesIn(admin, `${queue}-dlq`)).to.equal(0);
  });

  it('carries id, metadata.key and the trace context across a hop', async () => {
    const queue = uniqueName('ergon_sqs_hop');
    const connector = connectorFor(queue);
    const sent = createTransaction(
      { n: 1 },
      { id: 'hop-1', metadata: { key: 'customer-42', traceparent, tracestate: 'vendor=1' } },
    );
    await connector.dispatch([sent]);
    const [received] = await fetchAll(connector, 1);
    expect(received?.id).to.equal('hop-1');
    expect(received?.payload).to.deep.equal({ n: 1 });
    expect(received?.metadata).to.include({
      key: 'customer-42',
      traceparent,
      tracestate: 'vendor=1',
    });
    await connector.settle(received as Transaction<Payload>, { type: 'ack' });
  });

  it('an undecodable body becomes a decode error for the exception handler, not a crashed loop', async () => {
    const queue = uniqueName('ergon_sqs_decode');
    const connector = connectorFor(queue);
    await connector.declare();
    await sendRaw(admin, queue, 'not json {');
    await connector.dispatch(numbered('ok', 1));
    const seen: TransactionError[] = [];
    const task = consumerTask({
      process: (tx: Transaction<Payload>) => tx.payload.n,
      onException: (_tx, error) => {
        seen.push(error);
      },
    });
    const outcomes: Outcome[] = await lastValueFrom(consume(connector, task).pipe(toArray()));
    expect(outcomes.map((o) => o.status).sort()).to.deep.equal(['exception', 'success']);
    expect(seen).to.have.length(1);
    expect(seen[0]?.stage).to.equal('decode');
    expect((seen[0]?.cause as Error).message).to.match(/not valid JSON/);
    expect(await messagesIn(admin, queue)).to.equal(0);
  });

  it('a transaction running past the visibility timeout is extended, not redelivered', async () => {
    const queue = uniqueName('ergon_sqs_extend');
    const connector = connectorFor(queue, { visibilityTimeout: '1s' });
    const rival = connectorFor(queue, { visibilityTimeout: '1s' });
    await connector.dispatch(numbered('long', 1));
    const rivalSaw: string[] = [];
    const task = consumerTask({
      process: async (tx: Transaction<Payload>) => {
        // Three visibility timeouts long; a rival consumer polls all the while.
        const until = Date.now() + 3500;
        while (Date.now() < until) {
          for (const other of await fetchAll(rival, 10)) {
            rivalSaw.push(other.id);
            await rival.settle(other, { type: 'release', reason: 'shutdown' });
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        return metadataOf(tx).receiveCount;
      },
    });
    const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
    expect(outcomes).to.have.length(1);
    expect(outcomes[0]).to.include({ status: 'success', result: 1 });
    expect(rivalSaw, 'the rival received the running message').to.deep.equal([]);
    expect(await messagesIn(admin, queue)).to.equal(0);
  });

  it('the redrive policy moves a message received maxReceiveCount times to the dead-letter queue', async () => {
    const queue = uniqueName('ergon_sqs_redrive');
    const connector = connectorFor(queue, { maxReceiveCount: 2 });
    await connector.dispatch(numbered('redrive', 1));
    for (let receive = 1; receive <= 2; receive++) {
      const [tx] = await fetchAll(connector, 1);
      expect(metadataOf(tx as Transaction).receiveCount).to.equal(receive);
      await connector.settle(tx as Transaction<Payload>, { type: 'release', reason: 'shutdown' });
    }
    expect(await fetchAll(connector, 1)).to.deep.equal([]);
    const dead = await peek(admin, `${queue}-dlq`);
    expect(dead.map((m) => m.MessageAttributes?.['ergon-id']?.StringValue)).to.deep.equal([
      'redrive-0',
    ]);
  });

  it('FIFO: message group = metadata.key (order per key), deduplication id = transaction id', async () => {
    const queue = `${uniqueName('ergon_sqs_fifo')}.fifo`;
    const connector = connectorFor(queue);
    const sent = [
      ...['a', 'b', 'c'].map((_, i) =>
        createTransaction({ n: i }, { id: `fifo-a-${i}`, metadata: { key: 'A' } }),
      ),
      createTransaction({ n: 9 }, { id: 'fifo-b-0', metadata: { key: 'B' } }),
    ];
    await connector.dispatch(sent);
    const duplicate = await connector.dispatch([sent[0] as Transaction<Payload>]);
    expect(duplicate.failed).to.deep.equal([]);
    const received: Transaction<Payload>[] = [];
    for (;;) {
      const batch = await fetchAll(connector, 10);
      if (batch.length === 0) break;
      for (const tx of batch) {
        received.push(tx);
        await connector.settle(tx, { type: 'ack' });
      }
    }
    expect(received.map((tx) => tx.id).filter((id) => id.startsWith('fifo-a'))).to.deep.equal([
      'fifo-a-0',
      'fifo-a-1',
      'fifo-a-2',
    ]);
    expect(received).to.have.length(4);
    expect(received.map((tx) => metadataOf(tx).groupId)).to.include.members(['A', 'B']);
    expect(received.every((tx) => metadataOf(tx).key === metadataOf(tx).groupId)).to.equal(true);
  });

  it('delay: a dispatched message is invisible for DelaySeconds', async () => {
    const queue = uniqueName('ergon_sqs_delay');
    const connector = connectorFor(queue, { delay: '2s' });
    await connector.dispatch(numbered('delayed', 1));
    expect(await fetchAll(connector, 1)).to.deep.equal([]);
    expect(await messagesIn(admin, queue)).to.equal(1);
    const waiting = connectorFor(queue, { delay: '2s', fetchWait: '5s' });
    const [tx] = await fetchAll(waiting, 1);
    expect(tx?.id).to.equal('delayed-0');
    await waiting.settle(tx as Transaction<Payload>, { type: 'ack' });
  });

  it('dispatch sends batches of ≤ 10 and reports a message SQS refused alone', async () => {
    const queue = uniqueName('ergon_sqs_partial');
    const raw: PayloadCodec<string> = {
      contentType: 'text/plain',
      encode: (text) => new TextEncoder().encode(text),
      decode: (body) => new TextDecoder().decode(body),
    };
    const connector = connectorFor<string>(queue, { codec: raw });
    const batch = Array.from({ length: 23 }, (_, n) =>
      createTransaction(n === 17 ? 'bad \u0000 body' : `body ${n}`, { id: `p-${n}` }),
    );
    const report = await connector.dispatch(batch);
    expect(report.failed.map((f) => f.transaction.id)).to.deep.equal(['p-17']);
    expect(report.failed[0]?.error).to.be.instanceOf(SqsSendError);
    expect(await messagesIn(admin, queue)).to.equal(22);
  });

  it('close makes unsettled messages visible at once; their later settle rejects with DeliveryLostError', async () => {
    const queue = uniqueName('ergon_sqs_close');
    const connector = connectorFor(queue, { visibilityTimeout: '1m' });
    await connector.dispatch(numbered('close', 3));
    const held = await fetchAll(connector, 3);
    await connector.close();
    const other = connectorFor(queue);
    expect((await fetchAll(other, 10)).map((tx) => tx.id).sort()).to.deep.equal([
      'close-0',
      'close-1',
      'close-2',
    ]);
    let error: unknown;
    try {
      await connector.settle(held[0] as Transaction<Payload>, { type: 'ack' });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(DeliveryLostError);
  });

  it('count and health report the queue; a server never reached fails with ConnectionUnavailableError', async () => {
    const queue = uniqueName('ergon_sqs_count');
    const connector = connectorFor(queue);
    await connector.dispatch(numbered('count', 4));
    expect(await lastValueFrom(connector.count())).to.equal(4);
    expect(await lastValueFrom(connector.health())).to.deep.equal({
      healthy: true,
      state: 'connected',
    });
    const nowhere = new SqsConnector({
      connection: { ...sqsConnection, endpoint: 'http://127.0.0.1:9', connectTimeout: 300 },
      queue,
    });
    connectors.push(nowhere);
    let error: unknown;
    try {
      await fetchAll(nowhere, 1);
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConnectionUnavailableError);
    expect((error as Error).message).to.match(/SQS at 127\.0\.0\.1:9 not reachable.*ECONNREFUSED/);
    expect((await lastValueFrom(nowhere.health())).healthy).to.equal(false);
  });
});
