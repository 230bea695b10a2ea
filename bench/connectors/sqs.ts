/**
 * SQS consume+ack throughput: ergon-rx's SqsConnector under `consume` (no-op handler) against
 * a loop of the raw AWS SDK doing the same work (ReceiveMessage of 10, JSON-decode each body,
 * the no-op handler, one DeleteMessageBatch), on the same ElasticMQ, in one process. Also
 * dispatch: `connector.dispatch` of batches against raw SendMessageBatch requests of 10 (as
 * many at once as the connector sends). Prints msgs/s (best wall time of the rounds), the
 * ratio to the raw SDK, and the CPU time this process spent per message (least of the rounds).
 * Runs the built `dist/` (build first); needs scripts/services/elasticmq.sh.
 *
 * Usage: npm run -s build && npx tsc -p tsconfig.bench.json && node .bench/connectors/sqs.js [count]
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { consume, consumerTask, createTransaction, type LoopMode } from 'ergon-rx';
import { SqsConnector } from 'ergon-rx/sqs';
import { successes } from '../contenders/successes.js';

const count = Number(process.argv[2] ?? 3000);
const rounds = 3;
const dispatchBatch = 500;
const endpoint = 'http://127.0.0.1:9324';
// The SDK marks a credentials object it was given (`$source`): each user gets its own.
const credentials = (): { accessKeyId: string; secretAccessKey: string } => ({
  accessKeyId: 'bench',
  secretAccessKey: 'bench',
});
const client = new SQSClient({ endpoint, region: 'us-east-1', credentials: credentials() });

function uniqueName(prefix: string): string {
  return `ergon_bench_${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Creates the queue (the connector's redrive policy is left out: neither side needs it). */
async function createQueue(name: string): Promise<string> {
  const reply = await client.send(new CreateQueueCommand({ QueueName: name }));
  return reply.QueueUrl ?? '';
}

/** Raw SendMessageBatch requests of 10, in groups of 50 requests at once. */
async function rawSend(queue: string, total: number): Promise<void> {
  const requests: Promise<unknown>[] = [];
  for (let start = 0; start < total; start += 10) {
    const entries = [];
    for (let i = start; i < Math.min(total, start + 10); i++) {
      entries.push({
        Id: String(i - start),
        MessageBody: JSON.stringify({ n: i }),
        MessageAttributes: { 'ergon-id': { DataType: 'String', StringValue: `tx-${i}` } },
      });
    }
    requests.push(client.send(new SendMessageBatchCommand({ QueueUrl: queue, Entries: entries })));
    if (requests.length === 50) await Promise.all(requests.splice(0));
  }
  await Promise.all(requests);
}

let lastCpu = 0;

async function timed(run: () => Promise<void>): Promise<number> {
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await run();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const used = process.cpuUsage(cpu);
  lastCpu = (used.user + used.system) / count;
  return ms;
}

async function rawConsume(queue: string): Promise<number> {
  let done = 0;
  const handler = (_payload: unknown): void => undefined;
  return timed(async () => {
    while (done < count) {
      const reply = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: queue,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 30,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      const messages = reply.Messages ?? [];
      for (const message of messages) handler(JSON.parse(message.Body ?? ''));
      if (messages.length === 0) continue;
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queue,
          Entries: messages.map((message, i) => ({
            Id: String(i),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
      done += messages.length;
    }
  });
}

async function ergonConsume(queue: string, mode: LoopMode): Promise<number> {
  const connector = new SqsConnector({
    queue,
    create: false,
    deadLetterQueue: queue,
    fetchWait: '1s',
    connection: { endpoint, credentials: credentials() },
  });
  const task = consumerTask({ process: () => undefined });
  let outcomes = 0;
  const ms = await timed(async () => {
    outcomes = await successes(
      consume(connector, task, {
        loop: { mode, concurrency: { value: 10 }, limit: count },
        fetch: { batch: { size: 10 } },
      }),
    );
  });
  await connector.close();
  if (outcomes !== count) throw new Error(`ergon-rx ${mode}: ${outcomes} outcomes`);
  return ms;
}

async function rawDispatch(queue: string): Promise<number> {
  return timed(async () => {
    for (let start = 0; start < count; start += dispatchBatch) {
      await rawSend(queue, Math.min(dispatchBatch, count - start));
    }
  });
}

async function ergonDispatch(queue: string): Promise<number> {
  const connector = new SqsConnector({
    queue,
    create: false,
    deadLetterQueue: queue,
    connection: { endpoint, credentials: credentials() },
  });
  const ms = await timed(async () => {
    for (let start = 0; start < count; start += dispatchBatch) {
      const batch = [];
      for (let i = start; i < Math.min(count, start + dispatchBatch); i++) {
        batch.push(createTransaction({ n: i }, { id: `tx-${i}` }));
      }
      const report = await connector.dispatch(batch);
      if (report.failed.length > 0) throw new Error('dispatch failed');
    }
  });
  await connector.close();
  return ms;
}

interface Best {
  ms: number;
  cpu: number;
}

/** The best time of each contender over the rounds, each round running every contender once in turn. */
async function best(
  contenders: readonly ((queue: string) => Promise<number>)[],
  prefill: boolean,
): Promise<Best[]> {
  const results = contenders.map(() => ({ ms: Infinity, cpu: Infinity }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, run] of contenders.entries()) {
      const name = uniqueName('queue');
      const queue = await createQueue(name);
      if (prefill) await rawSend(queue, count);
      try {
        const ms = await run(queue);
        const result = results[i] as Best;
        result.ms = Math.min(result.ms, ms);
        result.cpu = Math.min(result.cpu, lastCpu);
      } finally {
        await client.send(new DeleteQueueCommand({ QueueUrl: queue }));
      }
    }
  }
  return results;
}

function row(name: string, result: Best, baseline: Best): string {
  const rate = Math.round((count / result.ms) * 1000);
  const ratio = `${((baseline.ms / result.ms) * 100).toFixed(0)}%`;
  const cpu = result.cpu.toFixed(2);
  return `| ${name.padEnd(48)} | ${String(rate).padStart(9)} | ${ratio.padStart(8)} | ${cpu.padStart(10)} |`;
}

const header = [
  `| ${'contender'.padEnd(48)} | ${'msgs/s'.padStart(9)} | ${'vs raw'.padStart(8)} | ${'CPU µs/msg'.padStart(10)} |`,
  `| ${'-'.repeat(48)} | ${'-'.repeat(9)} | ${'-'.repeat(8)} | ${'-'.repeat(10)} |`,
];

console.log(
  `SQS (ElasticMQ), ${count} messages, receives of 10, concurrency 10, best of ${rounds}`,
);
console.log(`node ${process.version}`);
console.log('\nconsume + ack');
const [raw, batch, continuous] = (await best(
  [
    rawConsume,
    (queue) => ergonConsume(queue, 'batch'),
    (queue) => ergonConsume(queue, 'continuous'),
  ],
  true,
)) as [Best, Best, Best];
console.log(
  [
    ...header,
    row('raw SDK (Receive 10, parse, handler, DeleteBatch)', raw, raw),
    row('ergon-rx consume, batch mode', batch, raw),
    row('ergon-rx consume, continuous mode', continuous, raw),
  ].join('\n'),
);

console.log(`\ndispatch (batches of ${dispatchBatch})`);
const [rawSent, ergonSent] = (await best([rawDispatch, ergonDispatch], false)) as [Best, Best];
console.log(
  [
    ...header,
    row('raw SDK (SendMessageBatch of 10, 50 at once)', rawSent, rawSent),
    row('ergon-rx connector.dispatch', ergonSent, rawSent),
  ].join('\n'),
);
client.destroy();
