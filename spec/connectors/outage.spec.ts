import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  type Connector,
  type Logger,
  type Transaction,
} from '../../lib/index.js';
import { NatsConnector, NatsService } from '../../lib/connectors/nats/index.js';
import { PostgresConnector, PostgresService } from '../../lib/connectors/postgres/index.js';
import { RabbitmqConnector, RabbitmqService } from '../../lib/connectors/rabbitmq/index.js';
import { RedisConnector, RedisService } from '../../lib/connectors/redis/index.js';
import { S3Connector } from '../../lib/connectors/s3/index.js';
import { SqsConnector } from '../../lib/connectors/sqs/index.js';
import { requireService, services, uniqueName, type ServiceName } from '../support/real-service.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/*
 * A broker that was reached once and then goes away (a restart, a failover, a network cut) for
 * longer than `connectTimeout` is waited for: the consumer keeps reconnecting with back-off and
 * goes on where it stopped. Only a broker never reached fails the run (closed-port.spec.ts).
 * The outage is a TCP proxy in front of the shared server that drops every connection and
 * refuses new ones for a while.
 */

type Payload = { n: number };

const connectTimeout = 400;
const outage = 2500;
const reconnect = { backoff: 50, backoffCap: 300 };

const silent: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

interface Pair {
  /** Dispatches straight to the server. */
  readonly producer: Connector<Payload>;
  /** Consumes through the proxy. */
  readonly consumer: Connector<Payload>;
  /** Creates what the producer needs before its first dispatch. */
  readonly prepare?: () => Promise<void>;
  readonly close: () => Promise<void>;
}

/**
 * The pair of `consumer` (on `service`, its own connection through the proxy, when it has one)
 * and `producer`; `close` closes the consumer, then the service, then the producer.
 */
function pairOf(
  consumer: Connector<Payload> & { close(): Promise<void> },
  producer: Connector<Payload> & { close(): Promise<void> },
  service: { close(): Promise<void> } | null,
  prepare?: () => Promise<void>,
): Pair {
  return {
    producer,
    consumer,
    ...(prepare === undefined ? {} : { prepare }),
    close: async () => {
      await consumer.close();
      await service?.close();
      await producer.close();
    },
  };
}

/** The connection settings of an AWS connector to the server on 127.0.0.1:`port`. */
function awsConnection(port: number) {
  return {
    region: 'us-east-1',
    credentials: { accessKeyId: 'ergon', secretAccessKey: 'ergon' },
    connectTimeout,
    reconnect,
    endpoint: `http://127.0.0.1:${port}`,
  };
}

/**
 * Kafka is not here: its clients connect to the addresses the cluster advertises, not to the
 * bootstrap address, so a proxy in front of the shared broker sees only the first request (its
 * outage is the private-broker restart of faults/brokers/kafka.fault.ts).
 */
const pairs: Record<Exclude<ServiceName, 'kafka'>, (port: number) => Pair> = {
  redis: (port) => {
    const stream = uniqueName('outage');
    const service = new RedisService(
      { url: `redis://127.0.0.1:${port}`, connectTimeout, reconnect },
      { logger: silent },
    );
    const consumer = new RedisConnector<Payload>({ stream, fetchWait: 100 }, service);
    const producer = new RedisConnector<Payload>({ stream });
    return pairOf(consumer, producer, service);
  },
  postgres: (port) => {
    const table = uniqueName('outage');
    const service = new PostgresService(
      { url: `postgres://postgres@127.0.0.1:${port}/test`, connectTimeout, reconnect },
      { logger: silent },
    );
    // A claim whose reply the cut lost leaves its rows leased: they come back after `lease`.
    const consumer = new PostgresConnector<Payload>(
      { table, fetchWait: 100, lease: 3000 },
      { service },
    );
    const producer = new PostgresConnector<Payload>({
      table,
      connection: { url: 'postgres://postgres@127.0.0.1:5432/test' },
    });
    return pairOf(consumer, producer, service, () => producer.migrate());
  },
  rabbitmq: (port) => {
    const queue = uniqueName('outage');
    const service = new RabbitmqService(
      { url: `amqp://guest:guest@127.0.0.1:${port}/`, connectTimeout, reconnect },
      { logger: silent },
    );
    const consumer = new RabbitmqConnector<Payload>(
      { queue, fetchWait: 100 },
      { service, logger: silent },
    );
    const producer = new RabbitmqConnector<Payload>({ queue });
    return pairOf(consumer, producer, service);
  },
  nats: (port) => {
    const stream = uniqueName('OUTAGE');
    const service = new NatsService(
      { url: `nats://127.0.0.1:${port}`, connectTimeout, reconnect },
      { logger: silent },
    );
    const consumer = new NatsConnector<Payload>(
      { stream, fetchWait: 100, ackWait: 1500 },
      { service },
    );
    const producer = new NatsConnector<Payload>({ stream });
    return pairOf(consumer, producer, service);
  },
  elasticmq: (port) => {
    const queue = uniqueName('outage');
    // A receive whose reply the cut lost leaves its messages invisible: back after 1 s.
    const consumer = new SqsConnector<Payload>(
      {
        queue,
        fetchWait: '1s',
        visibilityTimeout: '1s',
        connection: awsConnection(port),
      },
      undefined,
      { logger: silent },
    );
    const producer = new SqsConnector<Payload>({
      queue,
      connection: awsConnection(9324),
    });
    return pairOf(consumer, producer, null, () => producer.declare());
  },
  s3: (port) => {
    const bucket = uniqueName('outage').replace(/_/g, '-');
    const consumer = new S3Connector<Payload>(
      {
        bucket,
        claimTtl: '3s',
        connection: awsConnection(port),
      },
      undefined,
      { logger: silent },
    );
    const producer = new S3Connector<Payload>({
      bucket,
      connection: awsConnection(9090),
    });
    return pairOf(consumer, producer, null, async () => {
      await producer.client.send(new CreateBucketCommand({ Bucket: bucket }));
    });
  },
};

async function waitFor(condition: () => boolean, within: number, what: string): Promise<void> {
  const deadline = Date.now() + within;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('a broker that goes away after the first connection (longer than connectTimeout)', function () {
  this.timeout(40_000);
  for (const [name, open] of Object.entries(pairs) as [
    Exclude<ServiceName, 'kafka'>,
    (port: number) => Pair,
  ][]) {
    describe(services[name].name, () => {
      let proxy: TcpProxy | undefined;
      let pair: Pair | undefined;

      before(async function () {
        await requireService(this, name);
      });

      afterEach(async () => {
        await pair?.close();
        await proxy?.close();
        pair = undefined;
        proxy = undefined;
      });

      it(`the streaming loop waits out a ${outage} ms outage (connectTimeout ${connectTimeout} ms) and processes every message`, async () => {
        proxy = await TcpProxy.start(services[name].port);
        pair = open(proxy.listeningPort);
        await pair.prepare?.();
        const count = 60;
        const ids = Array.from({ length: count }, (_, n) => `m-${n}`);
        await pair.producer.dispatch?.(
          ids.map((id, n) => createTransaction<Payload>({ n }, { id })),
          { signal: new AbortController().signal },
        );
        const processed = new Set<string>();
        const stop$ = new Subject<void>();
        const outcomes = lastValueFrom(
          consume(
            pair.consumer,
            consumerTask({
              process: async (tx: Transaction<Payload>) => {
                await sleep(10);
                processed.add(tx.id);
              },
            }),
            {
              loop: { mode: 'continuous', concurrency: { value: 4 }, streaming: true },
              fetch: { retry: { maxAttempts: 2 }, empty: { backoff: 10, backoffCap: 50 } },
            },
            { stop$ },
          ).pipe(toArray()),
        );
        let failure: unknown;
        outcomes.catch((error: unknown) => (failure = error));

        await waitFor(() => processed.size >= 15, 10_000, '15 processed');
        await proxy.pause();
        await sleep(outage);
        expect(failure, 'the run is still going after the outage').to.equal(undefined);
        await proxy.resume();
        await waitFor(
          () => processed.size === count || failure !== undefined,
          25_000,
          'every message processed',
        );
        stop$.next();
        await outcomes;
        expect([...processed].sort()).to.deep.equal([...ids].sort());
      });
    });
  }
});
