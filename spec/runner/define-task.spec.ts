import { expect } from 'chai';
import { EMPTY } from 'rxjs';
import { MemoryConnector, PolicyError } from '../../lib/index.js';
import { defineTask, type TaskConfig } from '../../lib/runner/define-task.js';
import { ExitCode } from '../../lib/runner/runner-errors.js';
import { runTask } from '../../lib/runner/run-task.js';

function policyErrorOf(config: unknown): PolicyError {
  try {
    defineTask(config as TaskConfig);
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('expected a PolicyError');
}

describe('defineTask', () => {
  it('fills the defaults', () => {
    const task = defineTask({ name: 'orders', run: () => EMPTY });
    expect(task.shutdownGrace).to.equal(30_000);
    expect(task.workers).to.equal(1);
    expect(task.connectors).to.deep.equal({});
    expect(task.services).to.deep.equal({});
    expect(task.policies).to.deep.equal({});
    expect(task.telemetry).to.equal(undefined);
  });

  it('reads durations and integers as policies do', () => {
    const task = defineTask({
      name: 'orders',
      shutdownGrace: '1.5s',
      workers: '3',
      run: () => EMPTY,
    });
    expect(task.shutdownGrace).to.equal(1500);
    expect(task.workers).to.equal(3);
  });

  it('lists every bad path, factories that are not functions included', () => {
    const error = policyErrorOf({
      name: ' ',
      connectors: { orders: 'nope', ok: () => new MemoryConnector() },
      services: { cache: 42 },
      run: 'not a function',
      exit: true,
      shutdownGrace: '-1s',
      workers: 0,
      telemetry: { logs: { level: 'loud' } },
      shutdowngrace: 1,
    });
    expect(error.issues.map((issue) => issue.path)).to.have.members([
      'name',
      'connectors.orders',
      'services.cache',
      'run',
      'exit',
      'shutdownGrace',
      'workers',
      'telemetry.logs.level',
      'shutdowngrace',
    ]);
  });

  it('names only the exact path of a bad value under an optional section (supervision.http.port)', () => {
    const error = policyErrorOf({
      name: 'orders',
      run: () => EMPTY,
      supervision: { http: { port: 70_000 } },
    });
    expect(error.issues.map((issue) => issue.path)).to.deep.equal(['supervision.http.port']);
    expect(defineTask({ name: 'orders', run: () => EMPTY }).supervision.http).to.equal(undefined);
    expect(
      defineTask({ name: 'orders', run: () => EMPTY, supervision: { http: { port: '8080' } } })
        .supervision.http,
    ).to.deep.equal({ port: 8080, host: '127.0.0.1' });
  });

  it('types the run context from the factories', async () => {
    let seen = 0;
    const task = defineTask({
      name: 'typed',
      connectors: { orders: () => new MemoryConnector<{ id: number }>({ source: [{ id: 1 }] }) },
      services: { clock: async () => ({ now: () => 7 }) },
      policies: { batch: 3 },
      run: async ({ connectors, services, policies }) => {
        const counts: { ack: number } = connectors.orders.counts;
        const now: number = services.clock.now();
        const batch: number = policies.batch;
        seen = counts.ack + now + batch;
      },
    });
    expect(await runTask(task, { signals: false })).to.equal(ExitCode.success);
    expect(seen).to.equal(10);
  });

  it('returns a definition unchanged', () => {
    const task = defineTask({ name: 'orders', run: () => EMPTY });
    expect(defineTask(task)).to.equal(task);
  });
});

describe('runTask in process', () => {
  it('resolves 2 for an invalid configuration and 1 for a failing run', async () => {
    expect(await runTask({ name: '', run: () => EMPTY }, { signals: false })).to.equal(2);
    const failing = defineTask({ name: 'fails', run: () => Promise.reject(new Error('boom')) });
    expect(await runTask(failing, { signals: false })).to.equal(1);
  });

  it('resolves 1 when a factory throws, without running', async () => {
    let ran = false;
    const task = defineTask({
      name: 'broken',
      services: {
        broken: () => {
          throw new Error('no');
        },
      },
      run: async () => {
        ran = true;
      },
    });
    expect(await runTask(task, { signals: false })).to.equal(1);
    expect(ran).to.equal(false);
  });
});
