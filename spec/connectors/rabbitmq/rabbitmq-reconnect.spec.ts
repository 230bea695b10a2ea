import { expect } from 'chai';
import { lastValueFrom, Subject, tap, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  type Outcome,
  type Transaction,
} from '../../../lib/index.js';
import {
  RabbitmqConnectionError,
  RabbitmqConnector,
} from '../../../lib/connectors/rabbitmq/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { TcpProxy } from '../../support/tcp-proxy.js';
import { BrokerProbe, brokerUrl, cutConnections } from './fixtures/broker.js';

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

describe('RabbitmqConnector connection cut from the server side', function () {
  this.timeout(30_000);
  let probe: BrokerProbe;
  const queue = uniqueName('ergon_rabbitmq_cut');
  const connectionName = `ergon test ${queue}`;
  let connector: RabbitmqConnector<{ n: number }>;

  before(async function () {
    await requireService(this, 'rabbitmq');
    probe = await BrokerProbe.open();
    connector = new RabbitmqConnector<{ n: number }>(
      {
        connection: {
          url: brokerUrl,
          connectionName,
          reconnect: { backoff: 100, backoffCap: 1000 },
        },
        queue,
        fetchWait: 200,
      },
      { logger: silent },
    );
  });

  after(async () => {
    await connector?.close();
    if (probe === undefined) return;
    await probe.deleteTopology(queue);
    await probe.close();
  });

  it('keeps the loop going through `rabbitmqctl close_connection` and loses nothing', async () => {
    const sent = Array.from({ length: 300 }, (_, n) => createTransaction({ n }));
    expect((await connector.dispatch(sent)).failed).to.deep.equal([]);
    const processed = new Map<string, number>();
    const acked = new Set<string>();
    const stop$ = new Subject<void>();
    let cut: Promise<number> | undefined;
    const task = consumerTask({
      process: async (tx: Transaction<{ n: number }>) => {
        processed.set(tx.id, (processed.get(tx.id) ?? 0) + 1);
        cut ??= processed.size >= 100 ? cutConnections(connectionName) : undefined;
        // Transactions in flight when the cut starts finish only after it: their acks meet a
        // dead channel, so they must come back.
        await (cut ?? new Promise<unknown>((resolve) => setTimeout(resolve, 2)));
      },
    });
    const outcomes: Outcome[] = await lastValueFrom(
      consume(
        connector,
        task,
        {
          loop: { mode: 'continuous', concurrency: { value: 8 }, streaming: true },
          fetch: { empty: { backoff: 20, backoffCap: 200 } },
        },
        { stop$ },
      ).pipe(
        tap((outcome) => {
          if (outcome.status === 'success' && outcome.settleError === undefined) {
            acked.add(outcome.transaction.id);
          }
          if (acked.size === sent.length) stop$.next();
        }),
        toArray(),
      ),
    );

    expect(await cut, 'connections the broker closed').to.be.at.least(1);
    expect([...acked].sort()).to.deep.equal(sent.map((tx) => tx.id).sort());
    const lost = outcomes.filter(
      (outcome) => outcome.status === 'released' && outcome.reason === 'connectionLost',
    );
    expect(lost.length, 'in flight at the cut: released, not acked').to.be.greaterThan(0);
    for (const outcome of lost) {
      expect(
        processed.get(outcome.transaction.id),
        'redelivered and processed again',
      ).to.be.at.least(2);
    }
    expect(await lastValueFrom(connector.health())).to.include({
      healthy: true,
      state: 'consuming',
    });

    const after = createTransaction({ n: 300 });
    expect((await connector.dispatch([after])).failed, 'publishing resumed too').to.deep.equal([]);
    const fetched = await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
    expect(fetched.map((tx) => tx.id)).to.deep.equal([after.id]);
    await connector.settle(fetched[0] as Transaction<{ n: number }>, { type: 'ack' });
    await connector.close();
    expect(await probe.countWhenQuiet(queue)).to.equal(0);
  });

  it('a slow start is not an empty queue: fetchWait counts from the registered consumer', async () => {
    // A non-streaming loop ends at its first empty fetch: a connection that takes longer to
    // set up than fetchWait must not end it with the queue still full.
    const slowQueue = uniqueName('ergon_rabbitmq_slow');
    const producer = new RabbitmqConnector<{ n: number }>(
      { connection: { url: brokerUrl }, queue: slowQueue },
      { logger: silent },
    );
    await producer.dispatch([createTransaction({ n: 1 }), createTransaction({ n: 2 })]);
    await producer.close();
    const proxy = await TcpProxy.start(5672);
    proxy.slowStart(600);
    const slow = new RabbitmqConnector<{ n: number }>(
      {
        connection: { url: `amqp://guest:guest@127.0.0.1:${proxy.listeningPort}/` },
        queue: slowQueue,
        fetchWait: 150,
      },
      { logger: silent },
    );
    try {
      const outcomes = await lastValueFrom(
        consume(slow, consumerTask({ process: () => undefined })).pipe(toArray()),
      );
      expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['success', 'success']);
    } finally {
      await slow.close();
      await proxy.close();
      await probe.deleteTopology(slowQueue);
    }
  });

  it('keeps trying an unreachable broker: fetches complete empty, health says reconnecting, close is prompt', async () => {
    const unreachable = new RabbitmqConnector(
      {
        connection: { url: 'amqp://guest:guest@127.0.0.1:1/', reconnect: { backoff: 50 } },
        queue: uniqueName('ergon_rabbitmq_nowhere'),
        fetchWait: 300,
      },
      { logger: silent },
    );
    const started = Date.now();
    const fetched = await lastValueFrom(unreachable.fetch({ size: 5, extra: {} }).pipe(toArray()));
    expect(fetched).to.deep.equal([]);
    expect(Date.now() - started).to.be.within(250, 1500);
    const health = await lastValueFrom(unreachable.health());
    expect(health).to.include({ healthy: false, state: 'reconnecting' });
    expect(health.detail).to.include('ECONNREFUSED');
    const closing = Date.now();
    await unreachable.close();
    expect(Date.now() - closing).to.be.below(500);
  });

  it('fails a fetch clearly when the broker refuses the credentials', async () => {
    const refused = new RabbitmqConnector(
      {
        connection: { url: 'amqp://guest:wrong-password@127.0.0.1:5672/' },
        queue: uniqueName('ergon_rabbitmq_refused'),
      },
      { logger: silent },
    );
    let error: unknown;
    try {
      await lastValueFrom(refused.fetch({ size: 1, extra: {} }).pipe(toArray()));
    } catch (caught) {
      error = caught;
    } finally {
      await refused.close();
    }
    expect(error).to.be.instanceOf(RabbitmqConnectionError);
    expect((error as RabbitmqConnectionError).permanent).to.equal(true);
    expect(String(error)).to.include('ACCESS_REFUSED');
    expect(String(error), 'the password is masked').not.to.include('wrong-password');
  });
});
