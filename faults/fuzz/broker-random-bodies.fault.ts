import { expect } from 'chai';
import { jetstream } from '@nats-io/jetstream';
import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  PayloadDecodeError,
  type Connector,
  type Transaction,
  type TransactionError,
} from '../../lib/index.js';
import { NatsConnector } from '../../lib/connectors/nats/index.js';
import { RabbitmqConnector } from '../../lib/connectors/rabbitmq/index.js';
import { RedisConnector } from '../../lib/connectors/redis/index.js';
import { BrokerProbe, brokerUrl } from '../../spec/connectors/rabbitmq/fixtures/broker.js';
import { NatsAdmin } from '../../spec/connectors/nats/fixtures/nats-spec-support.js';
import {
  adminClient,
  pendingCount,
} from '../../spec/connectors/redis/fixtures/redis-spec-support.js';
import { requireService, uniqueName, type ServiceName } from '../../spec/support/real-service.js';
import { recordFaultResult } from '../support/fault-result.js';
import { expectedDecode, wireBody } from './support/wire-bodies.js';

const BODIES = 300;

/** One broker's part: publish raw bodies with ids, a connector to consume them, a check it is empty. */
interface BrokerUnderTest {
  readonly service: ServiceName;
  /** Publishes `bodies[i]` with transaction id `b<i>`; returns the connector that consumes them. */
  readonly publish: (bodies: readonly Uint8Array[]) => Promise<Connector>;
  /** Messages left unsettled after the run. */
  readonly leftover: () => Promise<number>;
  readonly close: () => Promise<void>;
}

function rabbitmq(): BrokerUnderTest {
  const queue = uniqueName('ergon_fuzz_bodies');
  let probe: BrokerProbe | undefined;
  let connector: RabbitmqConnector | undefined;
  return {
    service: 'rabbitmq',
    publish: async (bodies) => {
      probe = await BrokerProbe.open();
      connector = new RabbitmqConnector({
        connection: { url: brokerUrl, connectionName: 'ergon fuzz bodies' },
        queue,
        fetchWait: 300,
      });
      await connector.declare();
      await probe.send(
        queue,
        bodies.map((b) => Buffer.from(b)),
        { messageId: (i) => `b${i}` },
      );
      return connector;
    },
    leftover: async () => (await probe?.countWhenQuiet(queue)) ?? -1,
    close: async () => {
      await connector?.close();
      await probe?.deleteTopology(queue);
      await probe?.close();
    },
  };
}

function redis(): BrokerUnderTest {
  const stream = uniqueName('ergon_fuzz_bodies');
  const admin = adminClient();
  let connector: RedisConnector | undefined;
  return {
    service: 'redis',
    publish: async (bodies) => {
      for (const [i, b] of bodies.entries()) {
        await admin.xadd(stream, '*', 'id', `b${i}`, 'body', Buffer.from(b));
      }
      connector = new RedisConnector({ stream, fetchWait: 50 });
      return connector;
    },
    leftover: () => pendingCount(admin, stream, 'ergon'),
    close: async () => {
      await connector?.close();
      await admin.del(stream, `${stream}:dead`);
      admin.disconnect();
    },
  };
}

function nats(): BrokerUnderTest {
  let admin: NatsAdmin | undefined;
  let connector: NatsConnector | undefined;
  let stream = '';
  return {
    service: 'nats',
    publish: async (bodies) => {
      admin = await NatsAdmin.open();
      stream = admin.streamName();
      connector = new NatsConnector({ stream, fetchWait: 250 });
      await connector.declare();
      const js = jetstream(admin.connection);
      for (const [i, b] of bodies.entries()) await js.publish(stream, b, { msgID: `b${i}` });
      return connector;
    },
    leftover: async () => {
      await admin?.drained(stream);
      return 0;
    },
    close: async () => {
      await connector?.close();
      await admin?.close();
    },
  };
}

describe('fault: random-byte bodies through each broker', function () {
  const bodies = fc.sample(wireBody, { numRuns: BODIES, seed: 8 });
  const undecodable = bodies.flatMap((b, i) => (expectedDecode(b).ok ? [] : [`b${i}`]));

  for (const make of [rabbitmq, redis, nats]) {
    const broker = make();
    describe(broker.service, () => {
      before(async function () {
        await requireService(this, broker.service);
      });
      after(() => broker.close());

      it(`each undecodable body reaches the exception handler (stage decode, PayloadDecodeError), each decodable one is processed, all are settled`, async () => {
        const connector = await broker.publish(bodies);
        const processed: string[] = [];
        const decodeErrors: string[] = [];
        const task = consumerTask({
          process: (tx: Transaction) => void processed.push(tx.id),
          onException: (tx: Transaction, error: TransactionError) => {
            expect(error.stage).to.equal('decode');
            expect(error.cause).to.be.instanceOf(PayloadDecodeError);
            decodeErrors.push(tx.id);
          },
        });
        const started = Date.now();
        const outcomes = await lastValueFrom(
          consume(connector, task, {
            loop: { mode: 'continuous', concurrency: { value: 16 } },
          }).pipe(toArray()),
        );
        const elapsed = Date.now() - started;
        const ids = outcomes.map((o) => o.transaction.id);
        recordFaultResult({
          fault: 'fuzzed decoders',
          connector: `${broker.service} (random-byte bodies)`,
          runs: 1,
          messages: BODIES,
          lost: BODIES - new Set(ids).size,
          duplicates: ids.length - new Set(ids).size,
          duplicatesExplained: 'none',
          recoveryMs: null,
          notes: `${undecodable.length} undecodable bodies each reached onException (stage decode, PayloadDecodeError) and were acked; ${BODIES - undecodable.length} decodable ones processed; ${elapsed} ms`,
        });

        expect(new Set(ids).size, 'one outcome per body').to.equal(BODIES);
        expect(ids).to.have.length(BODIES);
        expect(decodeErrors.sort()).to.deep.equal([...undecodable].sort());
        expect(processed).to.have.length(BODIES - undecodable.length);
        const statuses = new Set(outcomes.map((o) => o.status));
        expect([...statuses].every((s) => s === 'success' || s === 'exception')).to.equal(true);
        expect(await broker.leftover(), 'left unsettled').to.equal(0);
      });
    });
  }
});
