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
import { measureRounds, onFresh, resultTable, type Contender, type Stopwatch } from './rounds.js';

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

async function runRaw(model: ChannelModel, queue: string, watch: Stopwatch): Promise<void> {
  await watch.time(() => rawRabbitmqConsume(model, queue, count, prefetch, null));
}

async function runErgon(
  queue: string,
  type: RabbitmqQueueType,
  mode: LoopMode,
  watch: Stopwatch,
): Promise<void> {
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
  let outcomes = 0;
  watch.start();
  await successes(
    consume(
      connector,
      consumerTask({ process: noop }),
      { loop: { mode, concurrency: { value: prefetch }, streaming: true } },
      { stop$ },
    ).pipe(
      tap(() => {
        if (++outcomes < count) return;
        watch.stop();
        stop$.next();
      }),
    ),
  );
  await connector.close();
}

async function deleteQueue(model: ChannelModel, queue: string): Promise<void> {
  const channel = await model.createChannel();
  await channel.deleteQueue(queue);
  await channel.close();
}

const model = await connect(url);
console.log(
  `${count} messages per run, prefetch = concurrency = ${prefetch}, no-op async handler, ack per message, best of ${rounds}`,
);
for (const type of ['classic', 'quorum'] as const) {
  const onFilledQueue = (run: (queue: string, watch: Stopwatch) => Promise<void>): Contender =>
    onFresh(
      () => filledQueue(model, type),
      (queue) => deleteQueue(model, queue),
      run,
    );
  const rawName = 'raw amqplib (consume + ack)';
  const results = await measureRounds(
    {
      [rawName]: onFilledQueue((queue, watch) => runRaw(model, queue, watch)),
      'ergon-rx consume (continuous)': onFilledQueue((queue, watch) =>
        runErgon(queue, type, 'continuous', watch),
      ),
      'ergon-rx consume (batch)': onFilledQueue((queue, watch) =>
        runErgon(queue, type, 'batch', watch),
      ),
    },
    { count, rounds, warmUp: false, pick: 'best' },
  );
  console.log(`\n${type} queue\n${resultTable(results, rawName)}`);
}
await model.close();
