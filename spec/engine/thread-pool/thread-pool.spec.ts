import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { MemoryConnector } from '../../../lib/connectors/memory/memory-connector.js';
import { NonRetryableError } from '../../../lib/core/errors.js';
import type { Outcome } from '../../../lib/core/outcome.js';
import { createTransaction } from '../../../lib/core/transaction.js';
import { consume } from '../../../lib/engine/consume.js';
import { consumerTask } from '../../../lib/engine/task-definition.js';
import {
  ThreadError,
  ThreadPayloadError,
  type ThreadPool,
  threadPool,
  ThreadPoolClosedError,
} from '../../../lib/engine/thread-pool/index.js';

const cpu = new URL('./fixtures/cpu.ts', import.meta.url);

function context(signal = new AbortController().signal, attempt = 1) {
  return { signal, attempt };
}

describe('threadPool', () => {
  let pool: ThreadPool;

  afterEach(async () => {
    await pool.close();
  });

  it('runs a sync export in a thread and returns its result', async () => {
    pool = threadPool({ size: 1 });
    const fib = pool.handler<number, number>(cpu, 'fib');
    expect(await fib(createTransaction(20), context())).to.equal(6765);
    expect(pool.stats).to.deep.equal({ threads: 1, busy: 0, queued: 0 });
  });

  it('hands async exports the payload and the call info, and clones the result back', async () => {
    pool = threadPool({ size: 1 });
    const echo = pool.handler(cpu, 'echo');
    const tx = createTransaction({ n: [1, 2], at: new Date(0) }, { id: 'tx-1' });
    expect(await echo(tx, context(undefined, 3))).to.deep.equal({
      payload: { n: [1, 2], at: new Date(0) },
      info: { attempt: 3, transactionId: 'tx-1' },
    });
  });

  it('starts threads lazily, runs calls in parallel and queues the rest', async () => {
    pool = threadPool({ size: 2 });
    expect(pool.stats.threads).to.equal(0);
    const warm = await Promise.all([pool.run(cpu, 'spin', 0), pool.run(cpu, 'spin', 0)]);
    expect(new Set(warm).size).to.equal(2);
    const started = Date.now();
    const calls = [200, 200, 10].map((ms) => pool.run<number>(cpu, 'spin', ms));
    expect(pool.stats).to.deep.equal({ threads: 2, busy: 2, queued: 1 });
    await Promise.all(calls);
    const elapsed = Date.now() - started;
    expect(elapsed).to.be.within(190, 380);
    expect(pool.stats).to.deep.equal({ threads: 2, busy: 0, queued: 0 });
  });

  it('brings errors back with their name, message and the thread stack', async () => {
    pool = threadPool({ size: 1 });
    const error = await pool.run(cpu, 'fail', 'too big').then(
      () => expect.fail('should reject'),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ThreadError);
    expect(error).to.include({ name: 'RangeError', message: 'too big' });
    expect((error as Error).stack).to.contain('fixtures/cpu.ts');
  });

  it('brings a NonRetryableError back as a NonRetryableError', async () => {
    pool = threadPool({ size: 1 });
    const error = await pool.run(cpu, 'nonRetryable', null).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NonRetryableError);
    expect(error).to.include({ message: 'bad payload' });
  });

  it('rejects a missing export and a result that cannot be cloned, and keeps working', async () => {
    pool = threadPool({ size: 1 });
    const missing = await pool.run(cpu, 'nope', null).catch((e: unknown) => e);
    expect(missing).to.include({ name: 'TypeError' });
    expect((missing as Error).message).to.contain('"nope"');
    const clone = await pool.run(cpu, 'notCloneable', null).catch((e: unknown) => e);
    expect(clone).to.include({ name: 'DataCloneError' });
    expect(await pool.run(cpu, 'fib', 10)).to.equal(55);
  });

  it('rejects a payload that cannot be cloned with a ThreadPayloadError (not retried), and keeps working', async () => {
    pool = threadPool({ size: 1 });
    const echo = pool.handler(cpu, 'echo');
    const error = await echo(
      createTransaction({ callback: () => 1 }, { id: 'o-1' }),
      context(),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ThreadPayloadError).and.instanceOf(NonRetryableError);
    expect((error as Error).message).to.contain('payload of transaction o-1 cannot be sent');
    expect((error as Error).cause).to.include({ name: 'DataCloneError' });
    expect(pool.stats).to.deep.equal({ threads: 1, busy: 0, queued: 0 });
    expect(await pool.run(cpu, 'fib', 10)).to.equal(55);
  });

  it('terminates the thread running an aborted call and replaces it', async () => {
    pool = threadPool({ size: 1 });
    const first = await pool.run<number>(cpu, 'spin', 0);
    const controller = new AbortController();
    const call = pool.run(cpu, 'spin', 5000, { signal: controller.signal });
    const queued = new AbortController();
    const waiting = pool.run(cpu, 'spin', 5000, { signal: queued.signal });
    expect(pool.stats).to.deep.equal({ threads: 1, busy: 1, queued: 1 });
    queued.abort(new Error('not needed'));
    expect(await waiting.catch((e: unknown) => (e as Error).message)).to.equal('not needed');
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('too slow')), 50);
    expect(await call.catch((e: unknown) => (e as Error).message)).to.equal('too slow');
    expect(Date.now() - started).to.be.below(500);
    const next = await pool.run<number>(cpu, 'spin', 0);
    expect(next).to.not.equal(first);
    expect(pool.stats.threads).to.equal(1);
  });

  it('rejects at once when the signal is already aborted', async () => {
    pool = threadPool({ size: 1 });
    const signal = AbortSignal.abort(new Error('gone'));
    expect(await pool.run(cpu, 'fib', 1, { signal }).catch((e: unknown) => e)).to.include({
      message: 'gone',
    });
    expect(pool.stats.threads).to.equal(0);
  });

  it('replaces a thread that dies of an uncaught error', async () => {
    pool = threadPool({ size: 1 });
    const error = await pool.run(cpu, 'crash', null).catch((e: unknown) => e);
    expect(error).to.include({ message: 'uncaught in thread' });
    expect(await pool.run(cpu, 'fib', 10)).to.equal(55);
  });

  it('close() terminates the threads and fails running, queued and later calls', async () => {
    pool = threadPool({ size: 1 });
    const running = pool.run(cpu, 'spin', 5000).catch((e: unknown) => e);
    const queued = pool.run(cpu, 'spin', 5000).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await pool.close();
    expect(Date.now() - started).to.be.below(500);
    expect(await running).to.be.instanceOf(ThreadPoolClosedError);
    expect(await queued).to.be.instanceOf(ThreadPoolClosedError);
    expect(pool.stats).to.deep.equal({ threads: 0, busy: 0, queued: 0 });
    const late = await pool.run(cpu, 'fib', 1).catch((e: unknown) => e);
    expect(late).to.be.instanceOf(ThreadPoolClosedError);
    await pool.close();
  });

  it('rejects a size that is not a positive integer', () => {
    expect(() => threadPool({ size: 0 })).to.throw(RangeError);
    pool = threadPool({ size: 1 });
  });

  describe('as a consumer process handler', () => {
    it('a retry.timeout terminates a busy thread: outcome timeout, and the pool still works', async () => {
      pool = threadPool({ size: 1 });
      const task = consumerTask({
        name: 'spin',
        process: pool.handler<number, number>(cpu, 'spin'),
      });
      const connector = new MemoryConnector({ source: [5000] });
      const started = Date.now();
      const outcome: Outcome = await firstValueFrom(
        consume(connector, task, { process: { retry: { timeout: 100, maxAttempts: 1 } } }),
      );
      expect(outcome.status).to.equal('timeout');
      expect(Date.now() - started).to.be.below(1000);
      expect(pool.stats).to.deep.include({ busy: 0, queued: 0 });
      expect(await pool.run(cpu, 'fib', 10)).to.equal(55);
    });

    it('a NonRetryableError from the thread ends the retries', async () => {
      pool = threadPool({ size: 1 });
      let attempts = 0;
      const handler = pool.handler(cpu, 'nonRetryable');
      const task = consumerTask({
        process: (tx, ctx) => {
          attempts++;
          return handler(tx, ctx);
        },
      });
      const outcomes = await lastValueFrom(
        consume(new MemoryConnector({ source: [1] }), task, {
          process: { retry: { maxAttempts: 5, backoff: 1 } },
        }).pipe(toArray()),
      );
      expect(outcomes.map((o) => o.status)).to.deep.equal(['failed']);
      expect(attempts).to.equal(1);
    });

    it('processes a batch of transactions on the pool', async () => {
      pool = threadPool({ size: 2 });
      const task = consumerTask({ process: pool.handler<number, number>(cpu, 'fib') });
      const outcomes = await lastValueFrom(
        consume(new MemoryConnector({ source: [10, 15, 20] }), task, {
          loop: { concurrency: { value: 2 } },
        }).pipe(toArray()),
      );
      expect(outcomes.map((o) => (o.status === 'success' ? o.result : o.status))).to.have.members([
        55, 610, 6765,
      ]);
    });
  });
});
