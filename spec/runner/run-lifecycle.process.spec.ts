import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { countsIn, eventsIn, startTaskProcess, type TaskProcess } from './support/task-process.js';

/** The exit of `task`, or a failure naming `what` when it has not exited after `ms` (then killed). */
async function exitWithin(task: TaskProcess, ms: number, what: string) {
  const timeout = sleep(ms).then(() => undefined);
  const result = await Promise.race([task.exited, timeout]);
  if (result === undefined) {
    task.child.kill('SIGKILL');
    throw new Error(`${what}: the process was still running ${ms} ms later`);
  }
  return result;
}

/** The `EVENT stop-took <ms>` of a fixture: the whole stop as measured inside the process. */
function stopTook(stdout: string): number {
  const line = eventsIn(stdout).find((event) => event.startsWith('stop-took '));
  return Number(line?.slice('stop-took '.length) ?? Number.NaN);
}

describe('runTask lifecycle in a real process', function () {
  // Each spec starts a process under tsx: a second on a quiet machine, more on a busy one.
  this.timeout(60_000);

  for (const scenario of ['wait-stop', 'wait-signal'] as const) {
    it(`holds the process while a run waits only for the stop (${scenario}); SIGTERM then runs the exit hook and closes`, async () => {
      const task = startTaskProcess(scenario);
      await task.waitFor('EVENT run');
      await sleep(300);
      expect(task.child.exitCode, 'still running').to.equal(null);
      task.child.kill('SIGTERM');
      const { code, stdout } = await exitWithin(task, 20_000, 'SIGTERM');
      expect(code).to.equal(143);
      expect(eventsIn(stdout)).to.include.members(['run', 'exit', 'service.close']);
    });
  }

  it('subscribes to the Observable a run returns through a Promise (run: async (ctx) => consume(…))', async () => {
    const { code, stdout } = await startTaskProcess('promise-of-observable').exited;
    expect(code).to.equal(0);
    const counts = countsIn(stdout);
    expect(counts.ack).to.equal(20);
    expect(counts.finished).to.equal(20);
  });

  it('exits 2 with a message when the run returns neither an Observable nor a Promise, after the exit hook and closes', async () => {
    const { code, stdout, stderr } = await startTaskProcess('returns-42').exited;
    expect(code).to.equal(2);
    expect(stderr).to.include("the task's run returned number 42");
    expect(eventsIn(stdout)).to.include.members(['exit', 'service.close']);
  });

  it('cancels a start-up stuck in a connector factory on SIGTERM: closes what started, exits 143 within the grace', async () => {
    const task = startTaskProcess('slow-factory');
    await task.waitFor('EVENT factory');
    task.child.kill('SIGTERM');
    const { code, stdout, stderr } = await exitWithin(task, 20_000, 'SIGTERM during start-up');
    expect(code).to.equal(143);
    expect(stderr).to.include('cancelling start-up (up to 1 s)');
    expect(stderr).to.include('connector "late": its factory had not returned');
    expect(eventsIn(stdout)).to.not.include('run');
    expect(countsIn(stdout).settlements, 'the connector created before was closed').to.equal(0);
    // The deadline (1 s) forces the stop; the factory then gets the 1 s every forced stop has.
    expect(stopTook(stdout)).to.be.below(1000 + 1000 + 1000);
  });

  it('aborts the signal an init() got on SIGINT: the start-up ends at once and exits 130', async () => {
    const task = startTaskProcess('slow-init');
    await task.waitFor('EVENT init');
    task.child.kill('SIGINT');
    const { code, stdout, stderr } = await exitWithin(task, 20_000, 'SIGINT during start-up');
    expect(code).to.equal(130);
    expect(stderr).to.include('its init() gave up after the stop request');
    expect(eventsIn(stdout)).to.not.include('run');
    expect(stopTook(stdout)).to.be.below(1000);
  });

  it('exits 1 when the exit hook is abandoned at the deadline, and does not report it done', async () => {
    const { code, stdout, stderr } = await exitWithin(
      startTaskProcess('slow-exit'),
      20_000,
      'a hung exit hook',
    );
    expect(code).to.equal(1);
    expect(stderr).to.include("exit hook did not finish before the stop's deadline");
    expect(stdout + stderr).to.not.include('exit hook done');
    expect(eventsIn(stdout)).to.include('service.close');
  });

  it('bounds the whole stop by one deadline: drain, exit hook and closes end within grace + 1 s', async () => {
    const task = startTaskProcess('slow-stop');
    await task.waitFor('EVENT run');
    await sleep(300);
    task.child.kill('SIGTERM');
    const { code, stdout } = await exitWithin(task, 30_000, 'SIGTERM');
    expect(code).to.equal(143);
    // grace 1 s (the hung handlers hold it whole), then 1 s for the rest: an exit hook of 0.6 s
    // and two closes that take 1.5 s each. Per-step bounds took 1 + 0.6 + 1 + 1 = 3.6 s.
    expect(stopTook(stdout)).to.be.within(1000, 2000 + 1000);
    const counts = countsIn(stdout);
    expect(counts.release, 'the hung in-flight work released').to.equal(counts.started);
  });
});
