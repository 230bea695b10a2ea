import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { countsIn, eventsIn, startTaskProcess } from './support/task-process.js';

describe('runTask in a real process', function () {
  // Each spec starts a process under tsx: a second on a quiet machine, more on a busy one.
  this.timeout(60_000);

  it('drains in-flight work on SIGTERM and exits 143 with every transaction settled once', async () => {
    const task = startTaskProcess('drain');
    await task.waitFor('EVENT run');
    await sleep(500);
    task.child.kill('SIGTERM');
    const { code, stdout } = await task.exited;
    const counts = countsIn(stdout);
    expect(code).to.equal(143);
    expect(counts.started).to.be.greaterThan(0);
    expect(counts.finished).to.equal(counts.started);
    expect(counts.ack).to.equal(counts.started);
    expect(counts.settlements).to.equal(counts.distinct);
    expect(counts.settlements).to.equal(counts.ack + counts.release + counts.deadLetter);
    expect(counts.ack).to.be.below(2000);
  });

  it('exits 130 after SIGINT', async () => {
    const task = startTaskProcess('drain');
    await task.waitFor('EVENT run');
    await sleep(200);
    task.child.kill('SIGINT');
    const { code, stdout, stderr } = await task.exited;
    expect(code).to.equal(130);
    expect(stderr).to.match(
      /stop requested \(SIGINT\); draining \d+ in flight \(up to 15 s\); press Ctrl-C again to force/,
    );
    expect(countsIn(stdout).finished).to.equal(countsIn(stdout).started);
  });

  it('exits promptly on a second SIGTERM, releasing the hung in-flight work', async () => {
    const task = startTaskProcess('hang');
    await task.waitFor('EVENT run');
    await sleep(300);
    task.child.kill('SIGTERM');
    await sleep(300);
    const forcedAt = Date.now();
    task.child.kill('SIGTERM');
    const { code, stdout, stderr } = await task.exited;
    expect(Date.now() - forcedAt).to.be.below(2000);
    expect(code).to.equal(143);
    expect(stderr).to.include('draining 8 in flight (up to 15 s); send SIGTERM again to force');
    expect(stderr).to.include('stop forced; in-flight work is released');
    const counts = countsIn(stdout);
    expect(counts.started).to.equal(8);
    expect(counts.release).to.equal(8);
    expect(counts.settlements).to.equal(counts.distinct);
  });

  for (const [scenario, route, message] of [
    ['leaked-rejection', 'unhandledRejection', 'forgotten promise'],
    ['escaped-throw', 'uncaughtException', 'thrown in a timer callback'],
  ] as const) {
    it(`logs an error that escaped the task (${route}), drains in-flight work, releases the rest and exits 1`, async function () {
      this.timeout(30_000);
      const { code, stdout, stderr } = await startTaskProcess(scenario).exited;
      expect(code).to.equal(1);
      expect(stderr).to.include(`(${route}): Error: ${message}`);
      expect(stderr).to.include('stopping the run');
      const counts = countsIn(stdout);
      expect(counts.finished, 'in-flight work drained').to.equal(counts.started);
      expect(counts.ack).to.equal(counts.started);
      expect(counts.ack, 'stopped early').to.be.below(2000);
      expect(counts.settlements).to.equal(counts.distinct);
      expect(counts.settlements).to.equal(counts.ack + counts.release);
    });
  }

  it('still stops and exits 1 when an error escapes while stderr is a broken pipe', async function () {
    this.timeout(30_000);
    const task = startTaskProcess('leaked-rejection');
    task.child.stderr?.destroy();
    const { code, stdout } = await task.exited;
    expect(code).to.equal(1);
    const counts = countsIn(stdout);
    expect(counts.finished, 'in-flight work drained').to.equal(counts.started);
    expect(counts.settlements).to.equal(counts.ack + counts.release);
  });

  it('creates, runs and closes resources in a symmetric order', async () => {
    const { code, stdout } = await startTaskProcess('order').exited;
    expect(code).to.equal(0);
    expect(eventsIn(stdout)).to.deep.equal([
      'connector.first.init',
      'connector.second.init',
      'service.alpha.init',
      'service.beta.init',
      'run.function',
      'exit',
      'service.beta.close',
      'service.alpha.close',
      'connector.second.close',
      'connector.first.close',
    ]);
  });

  it('closes what it created in reverse order and never runs when an init throws (exit 1)', async () => {
    const { code, stdout, stderr } = await startTaskProcess('init-fails').exited;
    expect(code).to.equal(1);
    expect(eventsIn(stdout)).to.deep.equal([
      'connector.first.init',
      'connector.second.init',
      'connector.second.close',
      'connector.first.close',
    ]);
    expect(stderr).to.include('connector "second" failed to start');
  });

  it('exits 2 on an invalid configuration, naming every bad path on stderr', async () => {
    const { code, stdout, stderr } = await startTaskProcess('config').exited;
    expect(code).to.equal(2);
    expect(eventsIn(stdout)).to.deep.equal([]);
    expect(stderr).to.include('name: expected non-empty string');
    expect(stderr).to.include('connectors.orders: expected function');
    expect(stderr).to.include('workers: expected positive integer');
  });

  it('flushes telemetry logs before the process exits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ergon-runner-'));
    try {
      const file = join(dir, 'task.log');
      const { code } = await startTaskProcess('telemetry', file).exited;
      expect(code).to.equal(0);
      const lines = (await readFile(file, 'utf8')).trim().split('\n');
      const last = JSON.parse(lines.at(-1) ?? '{}') as { message?: string };
      expect(last.message).to.equal('task logged finished with exit code 0');
      expect(lines.some((line) => line.includes('run did its work'))).to.equal(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
