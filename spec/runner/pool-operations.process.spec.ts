import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTransaction } from '../../lib/index.js';
import { RedisConnector } from '../../lib/connectors/redis/index.js';
import type { DashboardDeadLetters, DashboardStatus } from '../../lib/runner/index.js';
import { adminClient } from '../connectors/redis/fixtures/redis-spec-support.js';
import { freePort } from '../support/free-port.js';
import { requireService, uniqueName } from '../support/real-service.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { killWorkersProcesses, startPoolProcess } from './support/workers-process.js';

const fixture = fileURLToPath(new URL('./fixtures/pool-redis-task.ts', import.meta.url));

/** Polls `probe` every 100 ms until it returns a value; fails after `timeout` ms. */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeout = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('runTask with workers: dead letters and connector health through the primary (real Redis)', function () {
  // A primary and two workers under tsx, and a broker taken away and back: seconds on a quiet machine.
  this.timeout(90_000);
  const streams: string[] = [];
  let proxy: TcpProxy | undefined;

  before(async function () {
    await requireService(this, 'redis');
    proxy = await TcpProxy.start(6379);
  });

  afterEach(killWorkersProcesses);

  after(async () => {
    await proxy?.close();
    const admin = adminClient();
    for (const stream of streams) await admin.del(stream, `${stream}:dead`);
    admin.disconnect();
  });

  it('lists the dead letters in the primary and redrives one to the workers; /readyz and the dashboard show a worker whose broker is unreachable', async () => {
    const stream = uniqueName('ergon-pool-ops');
    streams.push(stream);
    const feeder = new RedisConnector<{ n: number; poison?: boolean }>({ stream });
    const orders = Array.from({ length: 8 }, (_, n) =>
      createTransaction({ n, ...(n % 4 === 1 ? { poison: true } : {}) }, { id: `${stream}-${n}` }),
    );
    await feeder.dispatch(orders);
    await feeder.close();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const pool = startPoolProcess(fixture, [`${port}`, `${proxy!.listeningPort}`, stream]);
    const poisoned = [`${stream}-1`, `${stream}-5`];

    // The workers dead-letter the poison orders; the primary lists them with its own connector.
    const listed = await eventually('both poison orders dead-lettered', async () => {
      const body = (await (await fetch(`${base}/api/dead-letters`)).json()) as DashboardDeadLetters;
      const ids = body.connectors[0]?.letters.map((letter) => letter.id) ?? [];
      return poisoned.every((id) => ids.includes(id)) ? body : undefined;
    });
    expect(listed.actions).to.equal(true);
    const letter = listed.connectors[0]!.letters.find((entry) => entry.id === poisoned[0])!;
    expect(letter.error).to.include('poison order 1');
    expect(letter.stage).to.equal('process');
    expect(letter.deliveryCount).to.be.at.least(1);

    // Redriven from the primary, a worker processes it.
    const response = await fetch(`${base}/api/dead-letters/redrive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ connector: 'orders', ids: [poisoned[0]] }),
    });
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ redriven: [poisoned[0]], skipped: [] });
    await pool.waitUntil((out) => out.includes(`EVENT processed ${poisoned[0]} true`));
    const after = (await (await fetch(`${base}/api/dead-letters`)).json()) as DashboardDeadLetters;
    expect(after.connectors[0]!.letters.map((entry) => entry.id)).to.deep.equal([poisoned[1]]);

    // Ready while every worker's connector is healthy; 503 naming it once Redis is unreachable.
    await eventually('ready', async () =>
      (await fetch(`${base}/readyz`)).status === 200 ? true : undefined,
    );
    await proxy!.pause();
    const unready = await eventually('readyz 503', async () => {
      const probe = await fetch(`${base}/readyz`);
      return probe.status === 503 ? probe.text() : undefined;
    });
    expect(unready).to.match(/worker \d: connector "orders" unhealthy \(reconnecting/);
    expect((await fetch(`${base}/healthz`)).status, 'not a reason to restart').to.equal(200);
    const status = (await (await fetch(`${base}/api/status`)).json()) as DashboardStatus;
    expect(status.health.ready).to.equal(false);
    expect(status.health.problems.map((problem) => problem.kind)).to.include('connector');
    const unhealthy = status.workers!.flatMap((worker) =>
      worker.connectors.filter((connector) => !connector.healthy),
    );
    expect(unhealthy.map((connector) => connector.name)).to.include('orders');

    // Back when Redis is.
    await proxy!.resume();
    await eventually('ready again', async () =>
      (await fetch(`${base}/readyz`)).status === 200 ? true : undefined,
    );
    pool.child.kill('SIGTERM');
    const { code } = await pool.exited;
    expect(code).to.equal(143);
  });
});
