import { expect } from 'chai';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  donesIn,
  killWorkersProcesses,
  startsIn,
  startWorkersProcess,
} from './support/workers-process.js';
import { freePort } from '../support/free-port.js';
import type { DashboardStatus } from '../../lib/runner/index.js';

async function statusOf(port: number, path: string): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
  } catch {
    return 0;
  }
}

async function pollStatus(port: number, path: string, wanted: number): Promise<void> {
  while ((await statusOf(port, path)) !== wanted) await sleep(50);
}

describe('runTask with workers in real processes', function () {
  // Each spec starts a primary and its workers under tsx: seconds on a quiet machine, more on a busy one.
  this.timeout(60_000);
  afterEach(killWorkersProcesses);

  it('runs the task in two worker processes, each with its workerId, and exits 0', async () => {
    const { code, stdout } = await startWorkersProcess('complete').exited;
    expect(code).to.equal(0);
    const starts = startsIn(stdout);
    expect(starts.map((s) => s.workerId).sort()).to.deep.equal([1, 2]);
    expect(new Set(starts.map((s) => s.pid)).size).to.equal(2);
    const dones = donesIn(stdout);
    expect(dones.map((d) => d.ack)).to.deep.equal([30, 30]);
  });

  it('forwards SIGTERM: every worker drains and the primary exits 143', async () => {
    const pool = startWorkersProcess('drain');
    await pool.waitUntil((out) => startsIn(out).length === 2);
    await sleep(400);
    pool.child.kill('SIGTERM');
    const { code, stdout } = await pool.exited;
    expect(code).to.equal(143);
    const dones = donesIn(stdout);
    expect(dones.map((d) => d.workerId).sort()).to.deep.equal([1, 2]);
    for (const done of dones) {
      expect(done.started).to.be.greaterThan(0);
      expect(done.finished).to.equal(done.started);
      expect(done.ack).to.equal(done.started);
      expect(done.ack).to.be.below(5000);
    }
  });

  it('stops a worker that was still loading when SIGTERM came (exit 143, not killed)', async () => {
    const pool = startWorkersProcess('late-worker');
    await pool.waitUntil(
      (out) => out.includes('EVENT loading 2') && out.includes('EVENT started 1'),
    );
    pool.child.kill('SIGTERM');
    const stoppedAt = Date.now();
    const { code, stdout } = await pool.exited;
    expect(code).to.equal(143);
    expect(Date.now() - stoppedAt, 'well before the kill after the grace').to.be.below(10_000);
    const dones = donesIn(stdout);
    expect(dones.map((d) => d.workerId).sort()).to.deep.equal([1, 2]);
    for (const done of dones) expect(done.finished).to.equal(done.started);
  });

  it('restarts a worker killed with SIGKILL and completes the work', async () => {
    const pool = startWorkersProcess('complete');
    await pool.waitUntil((out) => startsIn(out).some((s) => s.workerId === 1));
    const first = startsIn(pool.output()).find((s) => s.workerId === 1);
    process.kill(first?.pid ?? 0, 'SIGKILL');
    const { code, stdout } = await pool.exited;
    expect(code).to.equal(0);
    const restarted = startsIn(stdout).filter((s) => s.workerId === 1);
    expect(restarted).to.have.length(2);
    expect(restarted[1]?.pid).to.not.equal(first?.pid);
    expect(restarted[1]?.restarts).to.equal(1);
    const dones = donesIn(stdout).filter((d) => d.pid !== first?.pid);
    expect(dones.map((d) => d.ack)).to.deep.equal([30, 30]);
  });

  it('detects a wedged worker, kills and replaces it; /healthz is 200, then 503 while wedged', async () => {
    const port = await freePort();
    const pool = startWorkersProcess('wedge', port);
    // Sampled from the start, in the background: on a busy machine worker 1 may wedge before
    // both workers have sent a first heartbeat, so the 200 may come only after the replacement.
    const seen: { at: number; status: number }[] = [];
    let exited = false;
    const sampler = (async () => {
      while (!exited) {
        seen.push({ at: Date.now(), status: await statusOf(port, '/healthz') });
        await sleep(50);
      }
    })();
    await pool.waitUntil((out) => out.includes('EVENT wedging 1'));
    const wedgedAt = Date.now();
    await pool.waitUntil((out) => startsIn(out).some((s) => s.workerId === 1 && s.restarts === 1));
    expect(Date.now() - wedgedAt).to.be.below(1500 + 10_000); // detection, then a new worker starting under tsx on a busy machine;
    const { code, stdout, stderr } = await pool.exited;
    exited = true;
    await sampler;
    expect(seen.some((sample) => sample.status === 200)).to.equal(true);
    expect(seen.some((sample) => sample.status === 503 && sample.at >= wedgedAt)).to.equal(true);
    expect(code).to.equal(0);
    expect(stderr).to.include('worker 1 is wedged');
    expect(donesIn(stdout).map((d) => d.ack)).to.deep.equal([30, 30]);
  });

  it('replaces a worker whose in-flight work stalls while its heartbeats go on', async () => {
    const pool = startWorkersProcess('stall');
    await pool.waitUntil((out) => out.includes('EVENT stalling 1'));
    const stalledAt = Date.now();
    await pool.waitUntil((out) => startsIn(out).some((s) => s.workerId === 1 && s.restarts === 1));
    expect(Date.now() - stalledAt).to.be.below(1500 + 10_000); // detection, then a new worker starting under tsx on a busy machine;
    const { code, stdout, stderr } = await pool.exited;
    expect(code).to.equal(0);
    expect(stderr).to.match(/worker 1 .*stall/);
    expect(donesIn(stdout).map((d) => d.ack)).to.deep.equal([30, 30]);
  });

  it('gives up after the restart limit and exits 1', async () => {
    const { code, stdout, stderr } = await startWorkersProcess('fail').exited;
    expect(code).to.equal(1);
    expect(stderr).to.match(/worker \d failed for good after 2 restarts/);
    expect(stdout + stderr, 'no signal was received').to.not.include('SIGTERM received');
    expect(stderr).to.include('stopping the other workers');
    const starts = startsIn(stdout);
    expect(
      Math.max(...[1, 2].map((id) => starts.filter((s) => s.workerId === id).length)),
    ).to.equal(3);
  });

  it('restarts a worker whose failed run set process.exitCode (no exit: true), and exits 1 at the limit', async () => {
    const { code, stdout, stderr } = await startWorkersProcess('fail-exitcode').exited;
    expect(code).to.equal(1);
    expect(stdout + stderr).to.not.include('completed');
    expect(stderr).to.match(/worker \d failed for good after 2 restarts \(last: exit code 1\)/);
  });

  it('drains a worker whose IPC channel dropped mid-run, exits it 1 and restarts it', async () => {
    const { code, stdout, stderr } = await startWorkersProcess('disconnect').exited;
    expect(code).to.equal(0);
    expect(stderr).to.include('worker 1 lost its channel to the primary');
    const first = startsIn(stdout).find((s) => s.workerId === 1 && s.restarts === 0);
    const dropped = donesIn(stdout).find((d) => d.pid === first?.pid);
    expect(dropped, 'the dropped worker closed its connector').to.not.equal(undefined);
    expect(dropped?.finished).to.equal(dropped?.started);
    expect(dropped?.ack).to.equal(dropped?.started);
    expect(stdout).to.include(`EVENT exit 1 ${first?.pid}`);
    expect(startsIn(stdout).some((s) => s.workerId === 1 && s.restarts === 1)).to.equal(true);
    expect(
      donesIn(stdout)
        .filter((d) => d.pid !== first?.pid)
        .map((d) => d.ack),
    ).to.deep.equal([30, 30]);
  });

  it('workers of a SIGKILLed primary drain, settle, run their exit hook and close, then exit', async () => {
    const pool = startWorkersProcess('orphan');
    await pool.waitUntil((out) => startsIn(out).length === 2);
    await sleep(400);
    pool.child.kill('SIGKILL');
    const { stdout, stderr } = await pool.exited; // stdout closes once both workers exited
    expect(stderr).to.include('lost its channel to the primary');
    const dones = donesIn(stdout);
    expect(dones.map((d) => d.workerId).sort()).to.deep.equal([1, 2]);
    for (const done of dones) {
      expect(done.started).to.be.greaterThan(0);
      expect(done.finished, 'drained').to.equal(done.started);
      expect(done.ack).to.equal(done.started);
      expect(stdout).to.include(`EVENT exit ${done.workerId} ${done.pid}`);
    }
  });

  for (const [how, send] of [
    [
      'the primary first, then each worker',
      async (pool: ReturnType<typeof startWorkersProcess>) => {
        pool.child.kill('SIGTERM');
        await sleep(100);
        for (const start of startsIn(pool.output())) {
          try {
            process.kill(start.pid, 'SIGTERM');
          } catch {
            // Already gone: then it cannot have been forced either.
          }
        }
      },
    ],
    [
      'the whole process group',
      async (pool: ReturnType<typeof startWorkersProcess>) => {
        process.kill(-(pool.child.pid ?? 0), 'SIGTERM');
      },
    ],
  ] as const) {
    it(`counts one SIGTERM sent to ${how} as one stop: every worker drains (nothing forced)`, async () => {
      const pool = startWorkersProcess('slow-drain');
      await pool.waitUntil((out) => startsIn(out).length === 2);
      await sleep(600);
      await send(pool);
      const { code, stdout, stderr } = await pool.exited;
      expect(code, stderr).to.equal(143);
      expect(stdout + stderr).to.not.include('stop forced');
      const dones = donesIn(stdout);
      expect(dones.map((d) => d.workerId).sort()).to.deep.equal([1, 2]);
      for (const done of dones) {
        expect(done.started).to.be.greaterThan(0);
        expect(done.finished, 'in-flight work drained, not released').to.equal(done.started);
        expect(done.ack).to.equal(done.started);
      }
    });
  }

  it('resolves exit code 1 when the health port is taken, starts no worker, and leaves no signal handler', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const address = taken.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const { stdout, stderr } = await startWorkersProcess('port-in-use', port).exited;
      expect(stdout).to.include('EVENT resolved 1');
      expect(stdout).to.include('EVENT listeners 0 0');
      expect(startsIn(stdout)).to.deep.equal([]);
      expect(stderr).to.include(`health endpoints could not listen on 127.0.0.1:${port}`);
    } finally {
      taken.close();
    }
  });

  it('does not let a client with a half-sent request hold the primary open; listens on 127.0.0.1', async () => {
    const port = await freePort();
    const pool = startWorkersProcess('complete', port);
    await pollStatus(port, '/healthz', 200);
    const slow = connect(port, '127.0.0.1');
    slow.on('error', () => undefined);
    slow.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const since = Date.now();
    const { code, stdout } = await pool.exited;
    slow.destroy();
    expect(code).to.equal(0);
    expect(Date.now() - since, 'well before the 60 s headers timeout').to.be.below(20_000);
    expect(stdout).to.include(`health endpoints on http://127.0.0.1:${port}`);
  });
});

describe('runTask with workers: the primary serves the dashboard', function () {
  this.timeout(60_000);
  afterEach(() => killWorkersProcesses());

  it('shows every worker (pid, state, in flight, restarts) and the pool total, and answers the probes', async () => {
    const port = await freePort();
    const pool = startWorkersProcess('dashboard', port);
    await pool.waitUntil((out) => startsIn(out).length === 2);
    let status: DashboardStatus | undefined;
    for (let i = 0; i < 100; i++) {
      status = (await (
        await fetch(`http://127.0.0.1:${port}/api/status`)
      ).json()) as DashboardStatus;
      if (status.totals.success > 0 && status.workers?.every((w) => w.state !== 'starting')) break;
      await sleep(100);
    }
    expect(status?.mode).to.equal('pool');
    expect(status?.totals.success).to.be.greaterThan(0);
    expect(status?.workers?.map((worker) => worker.workerId)).to.deep.equal([1, 2]);
    for (const worker of status?.workers ?? []) {
      expect(worker.pid).to.be.a('number');
      expect(worker.restarts).to.equal(0);
    }
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).to.equal(200);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).to.equal(200);
    pool.child.kill('SIGTERM');
    const { code } = await pool.exited;
    expect(code).to.equal(143);
  });
});
