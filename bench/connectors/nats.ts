/**
 * NATS JetStream consume+ack throughput: ergon-rx's NatsConnector under `consume` with a
 * no-op handler against the raw @nats-io/jetstream driver doing the same work (a durable pull
 * consumer, pulls of the same batch size, one `+ACK` per message), in one process against
 * the local server. Each contender drains a fresh work-queue stream of N messages.
 *
 * Usage: npm run -s build && npx tsc -p tsconfig.bench.json && node .bench/connectors/nats.js [count] [rounds]
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { LoopMode } from 'ergon-rx';
import { NatsConnector } from 'ergon-rx/nats';
import { timeErgonConsume } from './ergon-runs.js';
import { measureRounds, onFresh, resultTable, type Contender, type Stopwatch } from './rounds.js';

const count = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 3);
const batch = 100;
const url = 'nats://127.0.0.1:4222';
const body = new TextEncoder().encode(JSON.stringify({ order: 42, item: 'widget', qty: 3 }));

let streams = 0;

async function freshStream(connection: NatsConnection): Promise<string> {
  const name = `ergon_bench_nats_${process.pid}_${++streams}`;
  const jsm = await jetstreamManager(connection);
  await jsm.streams.add({ name, subjects: [name], retention: 'workqueue', storage: 'file' });
  await jsm.consumers.add(name, {
    durable_name: `${name}_ergon`,
    ack_policy: 'explicit',
    ack_wait: 30_000_000_000,
    max_ack_pending: 1000,
    max_deliver: -1,
  });
  const js = jetstream(connection);
  for (let sent = 0; sent < count; sent += 1000) {
    const chunk = Math.min(1000, count - sent);
    await Promise.all(
      Array.from({ length: chunk }, (_, i) =>
        js.publish(name, body, { msgID: `${name}-${sent + i}` }),
      ),
    );
  }
  return name;
}

async function dropStream(connection: NatsConnection, name: string): Promise<void> {
  const jsm = await jetstreamManager(connection);
  await jsm.streams.delete(name).catch(() => false);
  await jsm.streams.delete(`${name}_DEAD`).catch(() => false);
}

async function rawDriver(
  connection: NatsConnection,
  stream: string,
  watch: Stopwatch,
): Promise<void> {
  const consumer = await jetstream(connection).consumers.get(stream, `${stream}_ergon`);
  let done = 0;
  await watch.time(async () => {
    while (done < count) {
      const messages = await consumer.fetch({
        max_messages: Math.min(batch, count - done),
        expires: 1000,
      });
      for await (const message of messages) {
        message.ack();
        done++;
      }
    }
    await connection.flush();
  });
}

async function ergon(stream: string, mode: LoopMode, watch: Stopwatch): Promise<void> {
  const connector = new NatsConnector({ url, stream, declare: false, fetchWait: 1000 });
  await connector.declare();
  await timeErgonConsume(connector, mode, batch, count, watch, async () => {
    await (await connector.service.connect()).flush();
  });
}

async function unacknowledged(connection: NatsConnection, stream: string): Promise<number> {
  const info = await (await jetstreamManager(connection)).streams.info(stream);
  return info.state.messages;
}

const connection = await connect({ servers: url });

/** A contender run on a fresh stream, checked to have acknowledged every message. */
function onFreshStream(run: (stream: string, watch: Stopwatch) => Promise<void>): Contender {
  return onFresh(
    () => freshStream(connection),
    (stream) => dropStream(connection, stream),
    async (stream, watch) => {
      await run(stream, watch);
      const left = await unacknowledged(connection, stream);
      if (left !== 0) throw new Error(`${left} messages left unacknowledged`);
    },
  );
}

const rawName = 'raw @nats-io/jetstream (fetch 100, ack each)';
const results = await measureRounds(
  {
    [rawName]: onFreshStream((stream, watch) => rawDriver(connection, stream, watch)),
    'ergon-rx batch (size 100, concurrency 100)': onFreshStream((stream, watch) =>
      ergon(stream, 'batch', watch),
    ),
    'ergon-rx continuous (concurrency 100)': onFreshStream((stream, watch) =>
      ergon(stream, 'continuous', watch),
    ),
  },
  { count, rounds, warmUp: false, pick: 'median' },
);
await connection.close();

console.log(`NATS JetStream consume+ack, ${count} messages, median of ${rounds} rounds`);
console.log(resultTable(results, rawName));
