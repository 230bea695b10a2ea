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
import { consume, consumerTask, type LoopMode } from 'ergon-rx';
import { NatsConnector } from 'ergon-rx/nats';

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

async function rawDriver(connection: NatsConnection, stream: string): Promise<number> {
  const consumer = await jetstream(connection).consumers.get(stream, `${stream}_ergon`);
  let done = 0;
  const started = performance.now();
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
  return performance.now() - started;
}

async function ergon(stream: string, mode: LoopMode): Promise<number> {
  const connector = new NatsConnector({ url, stream, declare: false, fetchWait: 1000 });
  await connector.declare();
  const task = consumerTask({ process: () => undefined });
  let outcomes = 0;
  const started = performance.now();
  await new Promise<void>((resolve, reject) =>
    consume(connector, task, {
      loop: { mode, concurrency: { value: batch }, limit: count },
      fetch: { batch: { size: batch } },
    }).subscribe({ next: () => outcomes++, error: reject, complete: resolve }),
  );
  await (await connector.service.connect()).flush();
  const elapsed = performance.now() - started;
  await connector.close();
  if (outcomes !== count) throw new Error(`ergon-rx ${mode}: ${outcomes} outcomes of ${count}`);
  return elapsed;
}

async function unacknowledged(connection: NatsConnection, stream: string): Promise<number> {
  const info = await (await jetstreamManager(connection)).streams.info(stream);
  return info.state.messages;
}

const contenders: Record<string, (connection: NatsConnection, stream: string) => Promise<number>> =
  {
    'raw @nats-io/jetstream (fetch 100, ack each)': rawDriver,
    'ergon-rx batch (size 100, concurrency 100)': (_, stream) => ergon(stream, 'batch'),
    'ergon-rx continuous (concurrency 100)': (_, stream) => ergon(stream, 'continuous'),
  };

const connection = await connect({ servers: url });
const results = new Map<string, number[]>();
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(contenders)) {
    const stream = await freshStream(connection);
    const elapsed = await run(connection, stream);
    const left = await unacknowledged(connection, stream);
    await dropStream(connection, stream);
    if (left !== 0) throw new Error(`${name}: ${left} messages left unacknowledged`);
    results.set(name, [...(results.get(name) ?? []), (count / elapsed) * 1000]);
  }
}
await connection.close();

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const raw = median(results.get(Object.keys(contenders)[0] as string) ?? []);
console.log(`NATS JetStream consume+ack, ${count} messages, median of ${rounds} rounds`);
console.log('| contender | msgs/s | vs raw driver |');
console.log('|---|---:|---:|');
for (const [name, rates] of results) {
  const rate = median(rates);
  console.log(`| ${name} | ${Math.round(rate)} | ${((rate / raw) * 100).toFixed(0)}% |`);
}
