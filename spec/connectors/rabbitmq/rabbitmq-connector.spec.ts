import { expect } from 'chai';
import fc from 'fast-check';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  DeliveryLostError,
  SettlementError,
  TransactionError,
  type Outcome,
  type Transaction,
} from '../../../lib/index.js';
import {
  RabbitmqConnector,
  RabbitmqPublishError,
  RabbitmqTopologyError,
  type RabbitmqConnectorConfigInput,
} from '../../../lib/connectors/rabbitmq/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { BrokerProbe, brokerUrl } from './fixtures/broker.js';

const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function fetchOnce<P>(connector: RabbitmqConnector<P>, size: number): Promise<Transaction<P>[]> {
  return lastValueFrom(connector.fetch({ size, extra: {} }).pipe(toArray()));
}

function ids(transactions: readonly { readonly id: string }[]): string[] {
  return transactions.map((transaction) => transaction.id).sort();
}

describe('RabbitmqConnector (against RabbitMQ on 127.0.0.1:5672)', function () {
  this.timeout(20_000);
  let probe: BrokerProbe;
  const queues: string[] = [];
  const exchanges: string[] = [];
  const connectors: RabbitmqConnector[] = [];

  before(async function () {
    await requireService(this, 'rabbitmq');
    probe = await BrokerProbe.open();
  });

  after(async () => {
    await Promise.all(connectors.map((connector) => connector.close()));
    if (probe === undefined) return;
    for (const queue of queues) await probe.deleteTopology(queue);
    for (const exchange of exchanges) await probe.deleteExchange(exchange);
    await probe.close();
  });

  /** A connector on a fresh queue, closed and cleaned up after the suite. */
  function connectorFor<P = unknown>(
    config: Partial<RabbitmqConnectorConfigInput> = {},
    options: ConstructorParameters<typeof RabbitmqConnector<P>>[1] = {},
  ): RabbitmqConnector<P> {
    const queue = config.queue === undefined ? uniqueName('ergon_rabbitmq') : config.queue;
    if (queue !== null && !queues.includes(queue)) queues.push(queue);
    const connector = new RabbitmqConnector<P>(
      {
        connection: { url: brokerUrl, connectionName: 'ergon spec' },
        fetchWait: 200,
        ...config,
        queue,
      },
      options,
    );
    connectors.push(connector as RabbitmqConnector);
    return connector;
  }

  it('round trip: dispatch N, consume them all, every one acked, ids, payloads and traceparent kept', async () => {
    const connector = connectorFor();
    const sent = Array.from({ length: 200 }, (_, n) =>
      createTransaction({ n, text: `order ${n}` }, { metadata: { traceparent } }),
    );
    const report = await connector.dispatch(sent);
    expect(report.failed).to.deep.equal([]);
    expect(await probe.messageCount(connector.config.queue as string)).to.equal(200);

    const outcomes = await lastValueFrom(
      consume(connector, consumerTask({ process: (tx: Transaction) => tx.payload }), {
        loop: { mode: 'continuous', concurrency: { value: 16 } },
      }).pipe(toArray()),
    );

    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(sent.map(() => 'success'));
    expect(ids(outcomes.map((outcome) => outcome.transaction))).to.deep.equal(ids(sent));
    const byId = new Map(sent.map((transaction) => [transaction.id, transaction]));
    for (const { transaction } of outcomes) {
      expect(transaction.payload).to.deep.equal(byId.get(transaction.id)?.payload);
      expect(transaction.metadata).to.deep.include({
        queue: connector.config.queue,
        routingKey: connector.config.queue,
        redelivered: false,
        deliveryCount: 1,
        messageId: transaction.id,
        contentType: 'application/json',
        traceparent,
      });
      expect(transaction.metadata, 'no broker handles').not.to.have.any.keys(
        'deliveryTag',
        'consumerTag',
        'message',
      );
    }
    expect(await lastValueFrom(connector.count())).to.equal(0);
    await connector.close();
    expect(
      await probe.countWhenQuiet(connector.config.queue as string),
      'nothing unacked',
    ).to.equal(0);
  });

  it('settle: ack removes, release redelivers with a growing delivery count, deadLetter lands in the DLQ with the error', async () => {
    const connector = connectorFor({ prefetch: 10 });
    const queue = connector.config.queue as string;
    const [keep, retry, fail] = ['keep', 'retry', 'fail'].map((name) =>
      createTransaction({ name }),
    );
    await connector.dispatch([keep, retry, fail] as Transaction[]);

    const first = await fetchOnce(connector, 10);
    expect(ids(first)).to.deep.equal(ids([keep, retry, fail] as Transaction[]));
    const find = (id: string | undefined) => first.find((tx) => tx.id === id) as Transaction;
    await connector.settle(find(keep?.id), { type: 'ack' });
    await connector.settle(find(retry?.id), { type: 'release', reason: 'shutdown' });
    const error = new TransactionError('process of order failed: card declined', {
      category: 'business',
      stage: 'process',
    });
    await connector.settle(find(fail?.id), { type: 'deadLetter', error });
    expect(() => connector.settle(find(keep?.id), { type: 'ack' })).to.throw(SettlementError);

    const again = await fetchOnce(connector, 10);
    expect(ids(again)).to.deep.equal([retry?.id]);
    expect(again[0]?.metadata).to.deep.include({ redelivered: true, deliveryCount: 2 });
    await connector.settle(again[0] as Transaction, { type: 'ack' });

    const dead = await probe.drain(`${queue}.dlq`);
    expect(dead).to.have.length(1);
    const headers = dead[0]?.properties.headers ?? {};
    expect(dead[0]?.properties.messageId).to.equal(fail?.id);
    expect(JSON.parse(dead[0]?.content.toString() ?? '')).to.deep.equal({ name: 'fail' });
    expect(headers['x-ergon-error']).to.equal(
      'TransactionError: process of order failed: card declined',
    );
    expect(headers).to.deep.include({
      'x-ergon-error-category': 'business',
      'x-ergon-error-stage': 'process',
      'x-ergon-queue': queue,
      'x-ergon-delivery-count': 1,
    });
    await connector.close();
    expect(await probe.countWhenQuiet(queue)).to.equal(0);
  });

  it('dead-letters what the loop fails and acks what onException handled', async () => {
    const connector = connectorFor();
    const queue = connector.config.queue as string;
    await connector.dispatch([
      createTransaction({ action: 'ok' }),
      createTransaction({ action: 'handled' }),
      createTransaction({ action: 'fail' }),
    ]);
    const task = consumerTask({
      process: (tx: Transaction<{ action: string }>) => {
        if (tx.payload.action !== 'ok') throw new Error(`cannot ${tx.payload.action}`);
        return 'done';
      },
      onException: (tx: Transaction<{ action: string }>) => {
        if (tx.payload.action === 'fail') throw new Error('no fallback either');
        return 'logged';
      },
    });
    const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
    expect(outcomes.map((outcome) => outcome.status).sort()).to.deep.equal([
      'exception',
      'failed',
      'success',
    ]);
    await connector.close();
    expect(await probe.countWhenQuiet(queue)).to.equal(0);
    const dead = await probe.drain(`${queue}.dlq`);
    expect(dead.map((message): unknown => JSON.parse(message.content.toString()))).to.deep.equal([
      { action: 'fail' },
    ]);
    expect(String(dead[0]?.properties.headers?.['x-ergon-error'])).to.include('no fallback either');
  });

  it('poison: a quorum-queue message is dead-lettered by the connector after maxDeliveries deliveries', async () => {
    const connector = connectorFor({ maxDeliveries: 3 });
    const queue = connector.config.queue as string;
    const poison = createTransaction({ poison: true });
    await connector.dispatch([poison]);
    for (let delivery = 1; delivery <= 3; delivery++) {
      const fetched = await fetchOnce(connector, 1);
      expect(fetched.map((tx) => tx.metadata['deliveryCount'])).to.deep.equal([delivery]);
      await connector.settle(fetched[0] as Transaction, { type: 'release', reason: 'loopTimeout' });
    }
    expect(await fetchOnce(connector, 1), 'no 4th delivery').to.deep.equal([]);
    const dead = await probe.drain(`${queue}.dlq`);
    expect(dead.map((message): unknown => message.properties.messageId)).to.deep.equal([poison.id]);
    expect(dead[0]?.properties.headers?.['x-ergon-error']).to.equal(
      'MaxDeliveriesExceededError: delivered 4 times, more than maxDeliveries (3)',
    );
  });

  it('poison: a queue without a native delivery count is dead-lettered by the connector, with the reason', async () => {
    const connector = connectorFor({ queueType: 'classic', maxDeliveries: 1 });
    const queue = connector.config.queue as string;
    const poison = createTransaction({ poison: true });
    await connector.dispatch([poison]);
    const first = await fetchOnce(connector, 1);
    await connector.settle(first[0] as Transaction, { type: 'release', reason: 'loopTimeout' });
    expect(await fetchOnce(connector, 1), 'not handed out again').to.deep.equal([]);
    await connector.close();
    const dead = await probe.drain(`${queue}.dlq`);
    expect(dead.map((message): unknown => message.properties.messageId)).to.deep.equal([poison.id]);
    expect(dead[0]?.properties.headers?.['x-ergon-error']).to.equal(
      'MaxDeliveriesExceededError: delivered 2 times, more than maxDeliveries (1)',
    );
    expect(await probe.countWhenQuiet(queue)).to.equal(0);
  });

  it('undecodable bodies reach the exception handler (stage decode) and are settled', async () => {
    const connector = connectorFor();
    const queue = connector.config.queue as string;
    await connector.declare();
    await probe.send(queue, ['{"fine":true}', 'not json {', Buffer.from([0xff, 0xfe])]);
    const decodeErrors: TransactionError[] = [];
    const task = consumerTask({
      process: (tx: Transaction) => tx.payload,
      onException: (_tx: Transaction, error: TransactionError) => {
        decodeErrors.push(error);
      },
    });
    const outcomes: Outcome[] = await lastValueFrom(consume(connector, task).pipe(toArray()));
    expect(outcomes.map((outcome) => outcome.status).sort()).to.deep.equal([
      'exception',
      'exception',
      'success',
    ]);
    expect(decodeErrors.map((error) => error.stage)).to.deep.equal(['decode', 'decode']);
    for (const { transaction } of outcomes) {
      expect(transaction.id, 'a stable id derived from the body').to.match(/^sha256-[0-9a-f]{32}$/);
    }
    await connector.close();
    expect(await probe.countWhenQuiet(queue)).to.equal(0);
  });

  it('dispatch reports unroutable and unencodable transactions per transaction (mandatory + confirms)', async () => {
    const exchange = uniqueName('ergon_rabbitmq_x');
    exchanges.push(exchange);
    const connector = connectorFor({
      queue: null,
      exchanges: [{ name: exchange, type: 'direct' }],
      publish: { exchange, routingKey: 'nowhere' },
    });
    const good = createTransaction({ fine: true });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const bad = createTransaction(cyclic);
    const report = await connector.dispatch([good, bad]);
    expect(report.failed.map((failure) => failure.transaction)).to.deep.equal([good, bad]);
    const unroutable = report.failed[0]?.error;
    expect(unroutable).to.be.instanceOf(RabbitmqPublishError);
    expect((unroutable as RabbitmqPublishError).reason).to.equal('unroutable');
    expect(report.failed[1]?.error).to.be.instanceOf(TypeError);
    let fetchError: unknown;
    try {
      await fetchOnce(connector, 1);
    } catch (error) {
      fetchError = error;
    }
    expect(fetchError).to.be.instanceOf(RabbitmqTopologyError);
  });

  it('re-subscribes after the broker cancels the consumer (queue deleted), declaring the queue again', async () => {
    const warnings: string[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn: (line: string) => warnings.push(line),
      error() {},
    };
    const connector = connectorFor({}, { logger });
    const queue = connector.config.queue as string;
    await connector.dispatch([createTransaction({ n: 1 })]);
    const first = await fetchOnce(connector, 5);
    expect(first).to.have.length(1);
    await connector.settle(first[0] as Transaction, { type: 'ack' });
    await probe.deleteQueue(queue);
    expect(await fetchOnce(connector, 5)).to.deep.equal([]);
    expect(warnings.join('\n')).to.include(`cancelled the consumer of queue "${queue}"`);
    await connector.dispatch([createTransaction({ n: 2 })]);
    const second = await fetchOnce(connector, 5);
    expect(second.map((tx) => tx.payload)).to.deep.equal([{ n: 2 }]);
    await connector.settle(second[0] as Transaction, { type: 'ack' });
    expect(await lastValueFrom(connector.health())).to.include({
      healthy: true,
      state: 'consuming',
    });
  });

  it('warns once, in the reference words "exceeds loop concurrency", when prefetch is larger than the fetches', async () => {
    const warnings: string[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn: (line: string) => warnings.push(line),
      error() {},
    };
    const connector = connectorFor({ prefetch: 40 }, { logger });
    const queue = connector.config.queue as string;
    expect(await fetchOnce(connector, 20)).to.deep.equal([]);
    expect(await fetchOnce(connector, 20)).to.deep.equal([]);
    const matching = warnings.filter((line) => line.includes('exceeds loop concurrency'));
    expect(matching).to.have.length(1);
    expect(matching[0]).to.include(
      `prefetch 40 exceeds loop concurrency (the largest fetch, 20) of queue "${queue}"`,
    );
  });

  it('fails clearly when the queue is missing and declare is off', async () => {
    const connector = connectorFor({ declare: false });
    let error: unknown;
    try {
      await fetchOnce(connector, 1);
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(RabbitmqTopologyError);
    expect(String(error)).to.include('NOT_FOUND');
  });

  it('prefetch bounds the local buffer: a fetch never returns more than asked, the rest stays with the broker', async () => {
    const connector = connectorFor();
    const queue = connector.config.queue as string;
    await connector.dispatch(Array.from({ length: 20 }, (_, n) => createTransaction({ n })));
    const first = await fetchOnce(connector, 4);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await fetchOnce(connector, 4);
    expect(first.length + second.length).to.be.at.most(4);
    expect(await probe.messageCount(queue), 'prefetch 4: 16 stay ready in the queue').to.equal(16);
    for (const tx of [...first, ...second]) await connector.settle(tx, { type: 'ack' });
  });

  it('acknowledgements sent together (one multiple ack below every held message) never cover a message still held: property', async () => {
    // Settling in any order, acks and releases mixed, some in the same turn of the event loop
    // and some turns apart: the broker ends with exactly the released messages, so no
    // `multiple` ack reached one that was released later (or the channel would have closed
    // on the unknown tag and put back what was acked).
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }).chain((count) =>
          fc.record({
            count: fc.constant(count),
            order: fc.shuffledSubarray(
              Array.from({ length: count }, (_, n) => n),
              { minLength: count, maxLength: count },
            ),
            release: fc.array(fc.boolean(), { minLength: count, maxLength: count }),
            pause: fc.array(fc.boolean(), { minLength: count, maxLength: count }),
          }),
        ),
        async ({ count, order, release, pause }) => {
          const connector = connectorFor({ prefetch: 30 });
          const queue = connector.config.queue as string;
          await connector.dispatch(
            Array.from({ length: count }, (_, n) => createTransaction({ n })),
          );
          const held: Transaction[] = [];
          while (held.length < count) held.push(...(await fetchOnce(connector, count)));
          const released: string[] = [];
          for (const [step, index] of order.entries()) {
            const tx = held[index] as Transaction;
            if (release[step] === true) released.push(tx.id);
            await connector.settle(
              tx,
              release[step] === true ? { type: 'release', reason: 'shutdown' } : { type: 'ack' },
            );
            if (pause[step] === true) await new Promise((resolve) => setImmediate(resolve));
          }
          await connector.close();
          const left = await probe.drain(queue);
          expect(left.map((message) => String(message.properties.messageId)).sort()).to.deep.equal(
            released.sort(),
          );
        },
      ),
      { numRuns: 12 },
    );
  });

  it('close() is prompt and releases unsettled messages to another consumer; settling later is DeliveryLost', async () => {
    const connector = connectorFor({ prefetch: 5 });
    const queue = connector.config.queue as string;
    await connector.dispatch(Array.from({ length: 5 }, (_, n) => createTransaction({ n })));
    const held: Transaction[] = [];
    while (held.length < 5) held.push(...(await fetchOnce(connector, 5)));
    const waiting = lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
    const started = Date.now();
    await connector.close();
    expect(Date.now() - started).to.be.below(1500);
    expect(await waiting, 'a waiting fetch completes empty').to.deep.equal([]);
    expect(() => connector.settle(held[0] as Transaction, { type: 'ack' })).to.throw(
      DeliveryLostError,
    );

    const other = connectorFor({ queue, prefetch: 10 });
    const redelivered: Transaction[] = [];
    while (redelivered.length < 5) redelivered.push(...(await fetchOnce(other, 10)));
    expect(ids(redelivered)).to.deep.equal(ids(held));
    expect(redelivered.every((tx) => tx.metadata['redelivered'] === true)).to.equal(true);
    for (const tx of redelivered) await other.settle(tx, { type: 'ack' });
    expect(await lastValueFrom(connector.health())).to.deep.equal({
      healthy: false,
      state: 'closed',
    });
  });

  it('a graceful stop of a streaming loop releases nothing it finished and loses nothing', async () => {
    const connector = connectorFor();
    const queue = connector.config.queue as string;
    await connector.dispatch(Array.from({ length: 30 }, (_, n) => createTransaction({ n })));
    const stop$ = new Subject<void>();
    let processed = 0;
    const task = consumerTask({
      process: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (++processed === 10) stop$.next();
      },
    });
    const outcomes = await lastValueFrom(
      consume(
        connector,
        task,
        { loop: { mode: 'continuous', concurrency: { value: 4 }, streaming: true } },
        { stop$ },
      ).pipe(toArray()),
    );
    const successes = outcomes.filter((outcome) => outcome.status === 'success').length;
    await connector.close();
    expect(await probe.settledCount(queue, 30 - successes)).to.equal(30 - successes);
  });
});
