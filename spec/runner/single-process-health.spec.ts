import { expect } from 'chai';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { of, Subject } from 'rxjs';
import type { ConnectorHealth } from '../../lib/index.js';
import { MemoryConnector } from '../../lib/index.js';
import { defineTask, ExitCode, runTask } from '../../lib/runner/index.js';
import { freePort } from '../support/free-port.js';

/** GET `path`: its status and body, or status 0 when nothing answers. */
async function probe(port: number, path: string): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: await response.text() };
  } catch {
    return { status: 0, body: '' };
  }
}

/** Polls until `path` answers `status` (the run moves on its own clock); fails after 10 s. */
async function until(port: number, path: string, status: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const answer = await probe(port, path);
    if (answer.status === status) return answer.body;
    await sleep(50);
  }
  throw new Error(`${path} never answered ${status}`);
}

describe('single-process supervision: /healthz and /readyz without workers', () => {
  it('serves the probes of the run: ready while running, unready (not dead) with an unhealthy connector, gone after the run', async () => {
    const port = await freePort();
    let health: ConnectorHealth = { healthy: true, state: 'connected' };
    const finish = new Subject<void>();
    const running = runTask(
      defineTask({
        name: 'probed',
        connectors: {
          orders: () => Object.assign(new MemoryConnector(), { health: () => of(health) }),
        },
        supervision: { http: { port }, healthCheck: '50ms' },
        run: () => finish,
      }),
      { signals: false },
    );
    expect(await until(port, '/readyz', 200)).to.equal('ok\n');
    expect((await probe(port, '/healthz')).status).to.equal(200);
    health = { healthy: false, state: 'reconnecting', detail: 'ECONNREFUSED 127.0.0.1:5672' };
    expect(await until(port, '/readyz', 503)).to.equal(
      'unavailable: connector "orders" unhealthy (reconnecting: ECONNREFUSED 127.0.0.1:5672)\n',
    );
    expect((await probe(port, '/healthz')).status).to.equal(200);
    health = { healthy: true, state: 'connected' };
    await until(port, '/readyz', 200);
    finish.complete();
    expect(await running).to.equal(ExitCode.success);
    expect((await probe(port, '/healthz')).status).to.equal(0);
  });

  it('does not run the task when the probes cannot listen (exit code 1)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    let ran = false;
    try {
      const code = await runTask(
        defineTask({
          name: 'unprobed',
          supervision: { http: { port } },
          run: () => {
            ran = true;
            return of(1);
          },
        }),
        { signals: false },
      );
      expect(code).to.equal(ExitCode.runError);
      expect(ran).to.equal(false);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
