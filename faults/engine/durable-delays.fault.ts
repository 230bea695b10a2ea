import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTransaction, type Connector, type DispatchReport } from '../../lib/index.js';
import { requireService, uniqueName } from '../../spec/support/real-service.js';
import {
  durableDelayConnector,
  type DurableDelayKind,
} from './support/durable-delay-connectors.js';
import type { DurableDelayWorkerOptions } from './support/durable-delay-worker.js';
import { adminQuery } from '../../spec/connectors/postgres/fixtures/queue-fixture.js';
import { adminClient } from '../../spec/connectors/redis/fixtures/redis-spec-support.js';
import { NatsAdmin } from '../../spec/connectors/nats/fixtures/nats-spec-support.js';
import { BrokerProbe } from '../../spec/connectors/rabbitmq/fixtures/broker.js';
import {
  adminClient as sqsAdmin,
  deleteQueues,
} from '../../spec/connectors/sqs/fixtures/sqs-spec-support.js';
import { delayQueueName } from '../../lib/connectors/rabbitmq/internal/delay-queues.js';

// SIGKILL a worker while 1 000 transactions wait in durable delays (RetryLaterError), start
// another: every one of them is delivered again after the delay and done, none lost, none
// dead-lettered. Run alone (the faults config lists every fault file):
// npx mocha --extension ts --node-option import=tsx --require spec/support/quiet-logs.ts --timeout 300000 --exit faults/engine/durable-delays.fault.ts

const worker = fileURLToPath(new URL('./support/durable-delay-worker.ts', import.meta.url));
const total = 1000;
const delay = 20_000;

/** A worker process and the numbers it reported per kind of line. */
interface Worker {
  readonly child: ChildProcess;
  readonly lines: Map<string, Set<number>>;
  readonly exited: Promise<number | null>;
  /** Resolves once `count` distinct numbers were reported as `kind`. */
  reached(kind: string, count: number, timeoutMs: number): Promise<void>;
}

function startWorker(options: DurableDelayWorkerOptions): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = new Map<string, Set<number>>();
  const waiters: (() => void)[] = [];
  let rest = '';
  (child.stdout as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString('utf8');
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      const [kind, n] = line.split(' ');
      if (kind === undefined || n === undefined) continue;
      let numbers = lines.get(kind);
      if (numbers === undefined) lines.set(kind, (numbers = new Set()));
      numbers.add(Number(n));
    }
    for (const waiter of waiters.splice(0)) waiter();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    child,
    lines,
    exited,
    reached(kind, count, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`worker reported ${lines.get(kind)?.size ?? 0} ${kind}, not ${count}`),
            ),
          timeoutMs,
        );
        const check = (): void => {
          if ((lines.get(kind)?.size ?? 0) >= count) {
            clearTimeout(timer);
            resolve();
          } else {
            waiters.push(check);
          }
        };
        check();
        void exited.then(() => {
          if ((lines.get(kind)?.size ?? 0) < count) {
            clearTimeout(timer);
            reject(
              new Error(`worker exited having reported ${lines.get(kind)?.size ?? 0} ${kind}`),
            );
          }
        });
      });
    },
  };
}

const kinds: {
  kind: DurableDelayKind;
  service: 'postgres' | 'redis' | 'nats' | 'rabbitmq' | 'elasticmq' | null;
}[] = [
  { kind: 'postgres', service: 'postgres' },
  { kind: 'redis', service: 'redis' },
  { kind: 'nats', service: 'nats' },
  { kind: 'rabbitmq', service: 'rabbitmq' },
  { kind: 'sqs', service: 'elasticmq' },
  { kind: 'file', service: null },
];

describe('durable delays survive SIGKILL: 1 000 transactions waiting in RetryLaterError delays', function () {
  this.timeout(240_000);
  let dir = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ergon-durable-fault-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const { kind, service } of kinds) {
    it(`${kind}: the worker is killed with all of them held back; a new worker does every one after the delay, 0 lost`, async function () {
      if (service !== null) await requireService(this, service);
      const name =
        kind === 'file' ? join(dir, `${uniqueName('dd')}.jsonl`) : uniqueName('ergon_dd_fault');
      const producer = await durableDelayConnector(kind, name);
      try {
        const sent = Array.from({ length: total }, (_, n) =>
          createTransaction({ n }, { id: `dd-${n}` }),
        );
        for (let start = 0; start < total; start += 250) {
          const dispatch = producer.dispatch as NonNullable<Connector<{ n: number }>['dispatch']>;
          const report = (await dispatch.call(producer, sent.slice(start, start + 250))) as
            DispatchReport<{ n: number }> | undefined;
          expect(report?.failed ?? []).to.deep.equal([]);
        }
        await producer.close?.();

        const first = startWorker({ kind, name, delay, expected: null });
        await first.reached('released', total, 90_000);
        first.child.kill('SIGKILL');
        await first.exited;
        expect(first.lines.get('done')?.size ?? 0).to.equal(0);

        const second = startWorker({ kind, name, delay, expected: total });
        await second.reached('done', total, 120_000);
        expect(await second.exited).to.equal(0);
        const done = second.lines.get('done') ?? new Set<number>();
        expect([...done].sort((a, b) => a - b)).to.deep.equal(sent.map((tx) => tx.payload.n));
        expect(second.lines.get('other')).to.equal(undefined);
      } finally {
        await cleanUp(kind, name);
      }
    });
  }
});

async function cleanUp(kind: DurableDelayKind, name: string): Promise<void> {
  switch (kind) {
    case 'postgres':
      await adminQuery(`DROP TABLE IF EXISTS public."${name}", public."${name}_dead"`);
      return;
    case 'redis': {
      const admin = adminClient();
      await admin.del(name, `${name}:dead`, `${name}:delayed`);
      admin.disconnect();
      return;
    }
    case 'nats': {
      const admin = await NatsAdmin.open();
      await admin.jsm.streams.delete(name).catch(() => false);
      await admin.jsm.streams.delete(`${name}_DEAD`).catch(() => false);
      await admin.close();
      return;
    }
    case 'rabbitmq': {
      const probe = await BrokerProbe.open();
      await probe.deleteTopology(name);
      await probe.deleteQueue(delayQueueName('', name, delay));
      await probe.close();
      return;
    }
    case 'sqs': {
      const admin = sqsAdmin();
      await deleteQueues(admin, [name, `${name}-dlq`]);
      admin.destroy();
      return;
    }
    case 'file':
      return;
  }
}
