import { expect } from 'chai';
import { lastValueFrom, Subject } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  DeliveryLostError,
  type Outcome,
  type Transaction,
} from '../../../lib/index.js';
import {
  NatsConnectionError,
  NatsConnector,
  type NatsConnectionState,
} from '../../../lib/connectors/nats/index.js';
import { requireService } from '../../support/real-service.js';
import { fetchAll, NatsAdmin, sleep, waitFor } from './fixtures/nats-spec-support.js';
import { TcpProxy } from '../../support/tcp-proxy.js';

type Payload = { n: number };

/*
 * NATS has no admin call that kills one client connection, and restarting the shared server
 * would break the other suites. These specs put a TCP proxy between the connector and the
 * server and reset the proxied connections: to the client that is exactly a connection the
 * server (or the network) dropped, so the NATS client's own reconnect path runs, and the
 * server sees the connection go away too (its pull requests die with it).
 */
describe('NatsConnector across connection cuts (real NATS JetStream)', function () {
  this.timeout(30_000);
  let admin: NatsAdmin;
  let proxy: TcpProxy;
  const connectors: NatsConnector<Payload>[] = [];

  before(async function () {
    await requireService(this, 'nats');
    admin = await NatsAdmin.open();
    proxy = await TcpProxy.start(4222);
  });

  after(async () => {
    await Promise.all(connectors.map((connector) => connector.close()));
    await proxy?.close();
    await admin?.close();
  });

  function viaProxy(stream: string, extra: { ackWait?: number; requestTimeout?: number } = {}) {
    const connector = new NatsConnector<Payload>({
      url: `nats://127.0.0.1:${proxy.listeningPort}`,
      stream,
      fetchWait: 250,
      ackWait: 1500,
      reconnect: { backoff: 20, backoffCap: 200 },
      ...extra,
    });
    connectors.push(connector);
    return connector;
  }

  function direct(stream: string): NatsConnector<Payload> {
    const connector = new NatsConnector<Payload>({ stream, fetchWait: 250 });
    connectors.push(connector);
    return connector;
  }

  it('keeps consuming through connection cuts and loses nothing', async () => {
    const stream = admin.streamName();
    const producer = direct(stream);
    const count = 120;
    await producer.dispatch(
      Array.from({ length: count }, (_, n) => createTransaction({ n }, { id: `m-${n}` })),
    );
    const consumer = viaProxy(stream);
    const states: NatsConnectionState[] = [];
    consumer.service.state$.subscribe((state) => states.push(state));

    const processed = new Set<string>();
    const outcomes: Outcome<Payload, void>[] = [];
    const stop$ = new Subject<void>();
    const done = new Promise<void>((resolve, reject) =>
      consume(
        consumer,
        consumerTask({
          process: async (tx: Transaction<Payload>) => {
            await sleep(3);
            processed.add(tx.id);
          },
        }),
        {
          loop: { mode: 'continuous', concurrency: { value: 8 }, streaming: true },
          fetch: { empty: { backoff: 10, backoffCap: 50 } },
        },
        { stop$ },
      ).subscribe({ next: (outcome) => outcomes.push(outcome), error: reject, complete: resolve }),
    );

    await waitFor(() => processed.size >= 30, 10_000, '30 processed');
    proxy.cut();
    await waitFor(() => processed.size >= 70, 15_000, '70 processed after the first cut');
    proxy.cut();
    await waitFor(
      async () => processed.size === count && (await admin.messages(stream)) === 0,
      20_000,
      'every message processed and acknowledged',
    );
    stop$.next();
    await done;

    expect(states.filter((state) => state === 'reconnecting')).to.have.length.of.at.least(2);
    expect(states.at(-1)).to.equal('connected');
    for (const outcome of outcomes) {
      if (outcome.status === 'released') expect(outcome.reason).to.equal('connectionLost');
      else expect(outcome.status).to.equal('success');
    }
    await admin.drained(stream, `${stream}_ergon`);
  });

  it('reports a settlement during an outage as connectionLost, and the message comes back after ackWait', async () => {
    const stream = admin.streamName();
    const producer = direct(stream);
    await producer.dispatch([createTransaction({ n: 1 }, { id: 'in-flight' })]);
    const consumer = viaProxy(stream, { requestTimeout: 300 });

    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const outcomes: Outcome<Payload, void>[] = [];
    const stop$ = new Subject<void>();
    let attempts = 0;
    const done = new Promise<void>((resolve, reject) =>
      consume(
        consumer,
        consumerTask({
          process: async () => {
            if (++attempts === 1) await gate;
          },
        }),
        {
          loop: { mode: 'continuous', concurrency: { value: 2 }, streaming: true },
          fetch: { empty: { backoff: 10, backoffCap: 50 } },
        },
        { stop$ },
      ).subscribe({ next: (outcome) => outcomes.push(outcome), error: reject, complete: resolve }),
    );

    await waitFor(() => attempts === 1, 5000, 'the first delivery');
    await proxy.pause();
    await waitFor(() => consumer.service.state === 'reconnecting', 5000, 'reconnecting');
    release();
    await waitFor(() => outcomes.length === 1, 5000, 'the first outcome');
    expect(outcomes[0]).to.include({ status: 'released', reason: 'connectionLost' });
    expect(outcomes[0]?.settleError).to.be.instanceOf(DeliveryLostError);

    // While the connection is down: a fetch completes empty after fetchWait, dispatch fails.
    const started = Date.now();
    expect(await fetchAll(consumer, 5)).to.deep.equal([]);
    expect(Date.now() - started).to.be.below(1500);
    let dispatchError: unknown;
    await consumer
      .dispatch([createTransaction({ n: 2 })])
      .catch((error: unknown) => (dispatchError = error));
    expect(dispatchError).to.be.instanceOf(NatsConnectionError);
    expect(await lastHealth(consumer)).to.deep.include({ healthy: false, state: 'reconnecting' });

    await proxy.resume();
    await waitFor(() => outcomes.length === 2, 10_000, 'the redelivery');
    expect(outcomes[1]).to.include({ status: 'success' });
    expect(outcomes[1]?.transaction.id).to.equal('in-flight');
    expect(outcomes[1]?.transaction.metadata['deliveryCount']).to.equal(2);
    stop$.next();
    await done;
    await admin.drained(stream);
  });

  it('fails a fetch clearly when the first connection cannot be made, then backs off', async () => {
    const connector = new NatsConnector<Payload>({
      url: 'nats://127.0.0.1:1',
      stream: 'never_declared',
      connectTimeout: 500,
      reconnect: { backoff: 10_000 },
    });
    connectors.push(connector);
    let first: unknown;
    await fetchAll(connector, 1).catch((error: unknown) => (first = error));
    expect(first).to.be.instanceOf(NatsConnectionError);
    expect((first as Error).message).to.match(/cannot connect to NATS at 127\.0\.0\.1:1\b/);
    const started = Date.now();
    let second: unknown;
    await fetchAll(connector, 1).catch((error: unknown) => (second = error));
    expect(Date.now() - started).to.be.below(500);
    expect((second as Error).message).to.match(/next one in \d+ ms/);
    expect(await lastHealth(connector)).to.deep.include({ healthy: false, state: 'idle' });
  });
});

function lastHealth(connector: NatsConnector<Payload>) {
  return lastValueFrom(connector.health());
}
