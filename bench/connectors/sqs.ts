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
import type { LoopMode } from 'ergon-rx';
import { SqsConnector } from 'ergon-rx/sqs';
import { timeErgonConsume, timeErgonDispatch, uniqueName } from './ergon-runs.js';
import { measureRounds, onFresh, resultTable, type Contender, type Stopwatch } from './rounds.js';

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

async function rawConsume(queue: string, watch: Stopwatch): Promise<void> {
  let done = 0;
  const handler = (_payload: unknown): void => undefined;
  await watch.time(async () => {
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

async function ergonConsume(queue: string, mode: LoopMode, watch: Stopwatch): Promise<void> {
  const connector = new SqsConnector({
    queue,
    create: false,
    deadLetterQueue: queue,
    fetchWait: '1s',
    connection: { endpoint, credentials: credentials() },
  });
  await timeErgonConsume(connector, mode, 10, count, watch);
}

async function rawDispatch(queue: string, watch: Stopwatch): Promise<void> {
  await watch.time(async () => {
    for (let start = 0; start < count; start += dispatchBatch) {
      await rawSend(queue, Math.min(dispatchBatch, count - start));
    }
  });
}

async function ergonDispatch(queue: string, watch: Stopwatch): Promise<void> {
  const connector = new SqsConnector({
    queue,
    create: false,
    deadLetterQueue: queue,
    connection: { endpoint, credentials: credentials() },
  });
  await timeErgonDispatch(connector, dispatchBatch, count, watch);
}

/** A contender run on a fresh queue (filled beforehand when `prefill`), deleted afterwards. */
function onFreshQueue(
  run: (queue: string, watch: Stopwatch) => Promise<void>,
  prefill: boolean,
): Contender {
  const create = async (): Promise<string> => {
    const queue = await createQueue(uniqueName('queue'));
    if (prefill) await rawSend(queue, count);
    return queue;
  };
  return onFresh(create, (queue) => client.send(new DeleteQueueCommand({ QueueUrl: queue })), run);
}

const options = { count, rounds, warmUp: false, pick: 'best' } as const;
console.log(
  `SQS (ElasticMQ), ${count} messages, receives of 10, concurrency 10, best of ${rounds}`,
);
console.log(`node ${process.version}`);
console.log('\nconsume + ack');
const rawName = 'raw SDK (Receive 10, parse, handler, DeleteBatch)';
const consumed = await measureRounds(
  {
    [rawName]: onFreshQueue(rawConsume, true),
    'ergon-rx consume, batch mode': onFreshQueue(
      (queue, watch) => ergonConsume(queue, 'batch', watch),
      true,
    ),
    'ergon-rx consume, continuous mode': onFreshQueue(
      (queue, watch) => ergonConsume(queue, 'continuous', watch),
      true,
    ),
  },
  options,
);
console.log(resultTable(consumed, rawName));

console.log(`\ndispatch (batches of ${dispatchBatch})`);
const rawSendName = 'raw SDK (SendMessageBatch of 10, 50 at once)';
const sent = await measureRounds(
  {
    [rawSendName]: onFreshQueue(rawDispatch, false),
    'ergon-rx connector.dispatch': onFreshQueue(ergonDispatch, false),
  },
  options,
);
console.log(resultTable(sent, rawSendName));
client.destroy();
