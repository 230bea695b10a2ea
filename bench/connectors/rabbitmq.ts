/**
 * RabbitMQ consume+ack throughput: ergon-rx (`consume` over a `RabbitmqConnector`, no-op async
 * handler, continuous and batch loops) against the raw amqplib driver doing the same work in
 * the same process: one consumer with the same prefetch, the body parsed as JSON (ergon-rx
 * decodes payloads with its JSON codec), a no-op async handler per message, then one
 * basic.ack per message. Each run consumes N messages published beforehand (not
 * timed) to a fresh queue of the given type; the clock stops at the N-th ack/outcome. The CPU
 * column is this process's CPU time per message (user + system), the broker's excluded: on a
 * machine shared with the broker it is steadier than the rate.
 *
 * Usage (after `npm run -s build`):
 *   npx tsc -p tsconfig.bench.json && node .bench/connectors/rabbitmq.js [count] [prefetch] [rounds]
 */
import { randomBytes } from 'node:crypto';
import { connect, type ChannelModel } from 'amqplib';
import { Subject, tap } from 'rxjs';
import { consume, consumerTask, type LoopMode } from 'ergon-rx';
import { RabbitmqConnector, type RabbitmqQueueType } from 'ergon-rx/rabbitmq';
import { rawRabbitmqConsume, rawRabbitmqProduce } from '../contenders/rabbitmq.js';
import { successes } from '../contenders/successes.js';

const url = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/';
const count = Number(process.argv[2] ?? 20_000);
const prefetch = Number(process.argv[3] ?? 64);
const rounds = Number(process.argv[4] ?? 3);
const noop = async (): Promise<void> => {};

function queueArguments(type: RabbitmqQueueType): Record<string, unknown> {
  return type === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
}

/** A fresh queue holding `count` persistent messages, published with confirms. */
async function filledQueue(model: ChannelModel, type: RabbitmqQueueType): Promise<string> {
  const queue = `ergon_bench_${type}_${randomBytes(4).toString('hex')}`;
  const channel = await model.createChannel();
  await channel.assertQueue(queue, { durable: true, arguments: queueArguments(type) });
  await channel.close();
  await rawRabbitmqProduce(model, queue, count, count);
  return queue;
}

async function runRaw(model: ChannelModel, queue: string): Promise<number> {
  const started = process.hrtime.bigint();
  await rawRabbitmqConsume(model, queue, count, prefetch, null);
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function runErgon(queue: string, type: RabbitmqQueueType, mode: LoopMode): Promise<number> {
  const connector = new RabbitmqConnector({
    connection: { url, connectionName: 'ergon bench' },
    queue,
    queueType: type,
    declare: false,
    deadLetter: false,
    prefetch,
  });
  // The raw contender's connection is open before its clock starts; so is this one.
  await connector.service.connection();
  const stop$ = new Subject<void>();
  const started = process.hrtime.bigint();
  let outcomes = 0;
  let finished = 0n;
  await successes(
    consume(
      connector,
      consumerTask({ process: noop }),
      { loop: { mode, concurrency: { value: prefetch }, streaming: true } },
      { stop$ },
    ).pipe(
      tap(() => {
        if (++outcomes < count) return;
        finished = process.hrtime.bigint();
        stop$.next();
      }),
    ),
  );
  await connector.close();
  return count / (Number(finished - started) / 1e9);
}

async function deleteQueue(model: ChannelModel, queue: string): Promise<void> {
  const channel = await model.createChannel();
  await channel.deleteQueue(queue);
  await channel.close();
}

const contenders: Record<
  string,
  (model: ChannelModel, queue: string, type: RabbitmqQueueType) => Promise<number>
> = {
  'raw amqplib (consume + ack)': (model, queue) => runRaw(model, queue),
  'ergon-rx consume (continuous)': (_model, queue, type) => runErgon(queue, type, 'continuous'),
  'ergon-rx consume (batch)': (_model, queue, type) => runErgon(queue, type, 'batch'),
};

interface Measurement {
  readonly rate: number;
  /** Microseconds of this process's CPU per message. */
  readonly cpu: number;
}

async function measure(run: () => Promise<number>): Promise<Measurement> {
  const before = process.cpuUsage();
  const rate = await run();
  const used = process.cpuUsage(before);
  return { rate, cpu: (used.user + used.system) / count };
}

const model = await connect(url);
console.log(
  `${count} messages per run, prefetch = concurrency = ${prefetch}, no-op async handler, ack per message, best of ${rounds}`,
);
console.log('| queue | contender | msgs/s | × raw amqplib | CPU µs/msg |');
console.log('|---|---|---:|---:|---:|');
for (const type of ['classic', 'quorum'] as const) {
  const best = new Map<string, Measurement>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const queue = await filledQueue(model, type);
      const measured = await measure(() => run(model, queue, type));
      const previous = best.get(name);
      best.set(name, {
        rate: Math.max(previous?.rate ?? 0, measured.rate),
        cpu: Math.min(previous?.cpu ?? Infinity, measured.cpu),
      });
      await deleteQueue(model, queue);
    }
  }
  const raw = (best.get('raw amqplib (consume + ack)') as Measurement).rate;
  for (const [name, { rate, cpu }] of best) {
    console.log(
      `| ${type} | ${name} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / raw).toFixed(2)} | ${cpu.toFixed(1)} |`,
    );
  }
}
await model.close();
