import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createTransaction } from '../../../lib/index.js';
import { NatsConnector } from '../../../lib/connectors/nats/index.js';
import { requireService } from '../../support/real-service.js';
import { NatsAdmin, waitFor } from './fixtures/nats-spec-support.js';

const workerScript = fileURLToPath(new URL('./fixtures/nats-worker.ts', import.meta.url));

interface Worker {
  readonly child: ChildProcess;
  readonly out: string;
  readonly ready: string;
  readonly exited: Promise<number | null>;
}

describe('NatsConnector with consumer processes (real NATS JetStream)', function () {
  this.timeout(40_000);
  let admin: NatsAdmin;
  let directory: string;
  const workers: Worker[] = [];
  const connectors: NatsConnector[] = [];

  before(async function () {
    await requireService(this, 'nats');
    admin = await NatsAdmin.open();
    directory = mkdtempSync(join(tmpdir(), 'ergon-nats-'));
  });

  after(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await Promise.all(connectors.map((connector) => connector.close()));
    await admin?.close();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  function startWorker(
    name: string,
    stream: string,
    options: { processMs: number; concurrency: number; ackWait: number },
  ): Worker {
    const out = join(directory, `${name}.log`);
    const ready = join(directory, `${name}.ready`);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', workerScript, JSON.stringify({ stream, out, ready, ...options })],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const worker = { child, out, ready, exited };
    workers.push(worker);
    return worker;
  }

  /** The `[id, deliveryCount]` lines a worker recorded. */
  function recorded(worker: Worker): [string, number][] {
    if (!existsSync(worker.out)) return [];
    return readFileSync(worker.out, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [id = '', count = '0'] = line.split(' ');
        return [id, Number(count)];
      });
  }

  const ids = (worker: Worker): string[] => recorded(worker).map(([id]) => id);

  async function publish(stream: string, prefix: string, count: number): Promise<string[]> {
    const producer = new NatsConnector({ stream });
    connectors.push(producer);
    const sent = Array.from({ length: count }, (_, n) =>
      createTransaction({ n }, { id: `${prefix}-${n}` }),
    );
    expect((await producer.dispatch(sent)).failed).to.deep.equal([]);
    return sent.map((tx) => tx.id);
  }

  it('two processes share one durable consumer: disjoint ids, all of them processed', async () => {
    const stream = admin.streamName();
    const options = { processMs: 5, concurrency: 4, ackWait: 30_000 };
    const a = startWorker('share-a', stream, options);
    const b = startWorker('share-b', stream, options);
    await waitFor(() => existsSync(a.ready) && existsSync(b.ready), 20_000, 'both workers');

    const sent = await publish(stream, 'shared', 200);
    await waitFor(
      () => new Set([...ids(a), ...ids(b)]).size === sent.length,
      20_000,
      'every message processed',
    );
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).to.equal(0);
    expect(await b.exited).to.equal(0);

    const byA = ids(a);
    const byB = ids(b);
    expect(byA.length, 'worker a took a share').to.be.above(0);
    expect(byB.length, 'worker b took a share').to.be.above(0);
    expect(
      byA.filter((id) => byB.includes(id)),
      'processed by both',
    ).to.deep.equal([]);
    expect(new Set(byA).size + new Set(byB).size).to.equal(byA.length + byB.length);
    expect([...byA, ...byB].sort()).to.deep.equal([...sent].sort());
    await admin.drained(stream);
  });

  it('a process killed with SIGKILL mid-batch loses nothing: a restarted one gets the rest', async () => {
    const stream = admin.streamName();
    const options = { processMs: 100, concurrency: 8, ackWait: 1500 };
    const first = startWorker('crash-a', stream, options);
    await waitFor(() => existsSync(first.ready), 20_000, 'the first worker');
    const sent = await publish(stream, 'crash', 60);

    await waitFor(() => ids(first).length >= 16, 20_000, 'the first worker to be busy');
    first.child.kill('SIGKILL');
    expect(await first.exited).to.equal(null);
    const beforeCrash = new Set(ids(first));
    expect(beforeCrash.size).to.be.below(sent.length);

    const second = startWorker('crash-b', stream, options);
    await waitFor(
      async () =>
        new Set([...ids(first), ...ids(second)]).size === sent.length &&
        (await admin.messages(stream)) === 0,
      30_000,
      'every message processed after the restart',
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).to.equal(0);

    expect([...new Set([...beforeCrash, ...ids(second)])].sort()).to.deep.equal([...sent].sort());
    // What the crashed worker held unacknowledged came back: redelivered to the new one.
    const redelivered = recorded(second).filter(([, count]) => count > 1);
    expect(redelivered.length, 'redeliveries after the crash').to.be.above(0);
    await admin.drained(stream, `${stream}_ergon`);
  });
});
