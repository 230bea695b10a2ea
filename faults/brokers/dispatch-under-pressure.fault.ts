import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { from, lastValueFrom, toArray } from 'rxjs';
import {
  createTransaction,
  dispatchTo,
  type Connector,
  type DispatchReceipt,
  type Transaction,
} from '../../lib/index.js';
import { RabbitmqConnector } from '../../lib/connectors/rabbitmq/index.js';
import { RedisConnector } from '../../lib/connectors/redis/index.js';
import { requireService, uniqueName } from '../../spec/support/real-service.js';
import { recordFaultResult } from '../support/fault-result.js';
import type { PrivateBroker } from '../support/private-broker.js';
import { startPrivateRabbitmq } from '../support/private-rabbitmq.js';
import { startPrivateRedis } from '../support/private-redis.js';

const run = promisify(execFile);

const MESSAGES = 3_000;
/** The section of RELIABILITY.md. */
const FAULT = 'dispatch under broker back-pressure (attempt timeouts, retries on)';
/** Attempts time out long before the broker lets the batch through: retries are certain. */
const dispatchOptions = {
  batch: 100,
  maxWait: 0,
  concurrency: 2,
  retry: { maxAttempts: 10, timeout: 500, backoff: 100 },
} as const;

/**
 * Puts the broker under pressure (`hold`), dispatches MESSAGES numbered transactions, lifts
 * the pressure (`lift`) 3 s later, and waits for every receipt.
 */
async function dispatchUnder(
  connector: Connector<{ n: number }>,
  hold: () => Promise<unknown>,
  lift: () => Promise<unknown>,
): Promise<{ receipts: DispatchReceipt<{ n: number }>[]; ms: number }> {
  const sent: Transaction<{ n: number }>[] = Array.from({ length: MESSAGES }, (_, n) =>
    createTransaction({ n }, { id: `pressure-${n}` }),
  );
  await hold();
  const started = Date.now();
  const dispatching = lastValueFrom(
    from(sent).pipe(dispatchTo(connector, dispatchOptions), toArray()),
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, 3_000));
  } finally {
    await lift();
  }
  const receipts = await dispatching;
  return { receipts, ms: Date.now() - started };
}

/** Records the row of RELIABILITY.md, then asserts 0 duplicates (or duplicates reported). */
function recordAndCheck(
  connector: string,
  fault: string,
  stored: number,
  receipts: readonly DispatchReceipt<{ n: number }>[],
  ms: number,
  pressure: string,
): void {
  const calls = receipts.reduce((sum, receipt) => sum + receipt.attempts, 0);
  const reported = receipts.reduce((sum, receipt) => sum + receipt.failed.length, 0);
  const duplicates = Math.max(0, stored - MESSAGES);
  recordFaultResult({
    fault,
    connector,
    runs: 1,
    messages: MESSAGES,
    lost: Math.max(0, MESSAGES - reported - stored),
    duplicates,
    duplicatesExplained: duplicates === 0 ? 'none' : `${duplicates} stored twice`,
    recoveryMs: null,
    notes: `${pressure} from before the first batch; ${calls} dispatch calls for ${receipts.length} batches in ${ms} ms (attempt timeout 500 ms: timed-out attempts are aborted and waited for); ${reported} reported failed`,
  });
  expect(stored + reported, 'every message stored once or reported').to.be.at.least(MESSAGES);
  expect(duplicates, 'messages stored twice').to.equal(0);
}

describe('dispatch under broker back-pressure, with attempt timeouts and retries', function () {
  let broker: (PrivateBroker & { readonly node?: string }) | null = null;

  afterEach(async () => {
    await broker?.dispose();
    broker = null;
  });

  it('RabbitMQ memory alarm (a private node, ≥ 3 s): 0 duplicates, every message confirmed once', async function () {
    await requireService(this, 'rabbitmq');
    const rabbit = await startPrivateRabbitmq();
    broker = rabbit;
    const queue = uniqueName('ergon_fault_alarm');
    const ctl = (...args: string[]) => run('rabbitmqctl', ['-n', rabbit.node, ...args]);
    const connector = new RabbitmqConnector<{ n: number }>({
      connection: { url: rabbit.url, connectionName: 'ergon fault alarm' },
      queue,
    });
    try {
      await connector.declare();
      const { receipts, ms } = await dispatchUnder(
        connector,
        () => ctl('set_vm_memory_high_watermark', '0.0000001'),
        () => ctl('set_vm_memory_high_watermark', '0.4'),
      );
      const model = await connect(rabbit.url);
      const stored = (await (await model.createChannel()).checkQueue(queue)).messageCount;
      await model.close();
      recordAndCheck('rabbitmq', FAULT, stored, receipts, ms, 'memory alarm for 3 s');
    } finally {
      await connector.close();
    }
  });

  it('Redis CLIENT PAUSE WRITE (a private server, 3.5 s): 0 duplicates, every entry added once', async function () {
    await requireService(this, 'redis');
    broker = await startPrivateRedis();
    const admin = new Redis(broker.url);
    const stream = uniqueName('ergon_fault_pause');
    const connector = new RedisConnector<{ n: number }>({
      stream,
      connection: { url: broker.url },
    });
    try {
      await connector.dispatch([]);
      // The pause lasts 3.5 s: dispatchUnder lifts nothing, it waits 3 s before its receipts.
      const { receipts, ms } = await dispatchUnder(
        connector,
        () => admin.call('CLIENT', 'PAUSE', '3500', 'WRITE'),
        () => Promise.resolve(),
      );
      const stored = await admin.xlen(stream);
      recordAndCheck('redis', FAULT, stored, receipts, ms, 'CLIENT PAUSE WRITE for 3.5 s');
    } finally {
      await connector.close();
      admin.disconnect();
    }
  });
});
