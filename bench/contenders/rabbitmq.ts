/**
 * RabbitMQ end to end (classic durable queue, persistent messages, publisher confirms,
 * prefetch = concurrency, one ack per message): ergon-rx's RabbitmqConnector against raw
 * amqplib doing the same (a confirm channel publishing batches and waiting for their
 * confirms; a consumer that parses the JSON body, runs the handler, acks). Each run uses its
 * own queue and deletes it.
 */
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { RabbitmqConnector } from 'ergon-rx/rabbitmq';
import {
  ergonEndToEnd,
  noop,
  timeTogether,
  type BenchPayload,
  type EndToEndRun,
  type ErgonEndToEndRun,
} from './end-to-end.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { RunResult } from './run-result.js';

const url = process.env['RABBITMQ_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672/';

function uniqueQueue(prefix: string): string {
  return `ergon_bench_${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

async function deleteQueue(model: ChannelModel, queue: string): Promise<void> {
  const channel = await model.createChannel();
  await channel.deleteQueue(queue);
  await channel.close();
}

export async function ergonRabbitmq(run: ErgonEndToEndRun): Promise<RunResult> {
  const queue = uniqueQueue('e2e');
  const connector = (prefetch: number | null): RabbitmqConnector<BenchPayload> =>
    new RabbitmqConnector<BenchPayload>({
      connection: { url, connectionName: 'ergon bench' },
      queue,
      queueType: 'classic',
      deadLetter: false,
      ...(prefetch === null ? {} : { prefetch }),
    });
  const producer = connector(null);
  const consumer = connector(run.concurrency);
  const model = await connect(url);
  try {
    return await ergonEndToEnd(producer, consumer, run);
  } finally {
    await Promise.all([producer.close(), consumer.close()]);
    await deleteQueue(model, queue);
    await model.close();
  }
}

/** Publishes `count` persistent JSON messages, waiting for confirms after every `batch`. */
export async function rawRabbitmqProduce(
  model: ChannelModel,
  queue: string,
  count: number,
  batch: number,
): Promise<void> {
  const channel = await model.createConfirmChannel();
  for (let start = 0; start < count; start += batch) {
    for (let n = start; n < Math.min(count, start + batch); n++) {
      const body = Buffer.from(JSON.stringify({ n }));
      const options = { persistent: true, messageId: `tx-${n}`, contentType: 'application/json' };
      if (!channel.sendToQueue(queue, body, options)) {
        await new Promise((resolve) => channel.once('drain', resolve));
      }
    }
    await channel.waitForConfirms();
  }
  await channel.close();
}

/**
 * Consumes `count` messages with `prefetch`: parse the body, run the handler, ack; records
 * delivery-to-ack latency. Resolves once the `count`-th message was acked.
 */
export async function rawRabbitmqConsume(
  model: ChannelModel,
  queue: string,
  count: number,
  prefetch: number,
  recorder: LatencyRecorder | null,
): Promise<void> {
  const channel: Channel = await model.createChannel();
  await channel.prefetch(prefetch);
  let acked = 0;
  await new Promise<void>((resolve, reject) => {
    channel
      .consume(queue, (message) => {
        if (message === null) return;
        const taken = performance.now();
        JSON.parse(message.content.toString('utf8'));
        noop().then(() => {
          channel.ack(message);
          recorder?.record(performance.now() - taken);
          if (++acked === count) resolve();
        }, reject);
      })
      .catch(reject);
  });
  await channel.close();
}

export async function rawRabbitmq(run: EndToEndRun): Promise<RunResult> {
  const queue = uniqueQueue('raw');
  const model = await connect(url);
  const setup = await model.createChannel();
  await setup.assertQueue(queue, { durable: true });
  await setup.close();
  const recorder = new LatencyRecorder(run.count);
  try {
    const seconds = await timeTogether(
      () => rawRabbitmqProduce(model, queue, run.count, run.dispatchBatch),
      () => rawRabbitmqConsume(model, queue, run.count, run.concurrency, recorder),
    );
    return { count: run.count, seconds, latency: recorder.summary() };
  } finally {
    await deleteQueue(model, queue);
    await model.close();
  }
}
