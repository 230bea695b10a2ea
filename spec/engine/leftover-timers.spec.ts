import { expect } from 'chai';
import { BehaviorSubject, from, interval, NEVER, startWith, Subject } from 'rxjs';
import {
  attempt,
  consume,
  consumerTask,
  createDispatcher,
  createTransaction,
  dispatchTo,
  MemoryConnector,
  processWith,
  type Connector,
  type Transaction,
} from '../../lib/index.js';
import { fakeTimersEachSpec } from './support/fake-timers.js';

/**
 * A timer left armed after a run ends keeps a Node process alive (the default runtime budget
 * is 60 s): every run must clean up after itself.
 */
describe('no timers left behind', () => {
  const timers = fakeTimersEachSpec();

  const task = consumerTask({ process: (tx: Transaction<number>) => tx.payload });

  it('attempt with a long timeout that succeeded', async () => {
    attempt(() => Promise.resolve(1), { timeout: 60_000, maxAttempts: 3 }).subscribe();
    await timers.clock.tickAsync(0);
    expect(timers.clock.countTimers()).to.equal(0);
  });

  it('attempt unsubscribed during its backoff', async () => {
    const subscription = attempt(
      () => {
        throw new Error('x');
      },
      { maxAttempts: 3, backoff: 10_000 },
    ).subscribe({ error: () => undefined });
    subscription.unsubscribe();
    await timers.clock.tickAsync(0);
    expect(timers.clock.countTimers()).to.equal(0);
  });

  it('a consume loop that completed (default 60 s runtime budget)', async () => {
    let completed = false;
    consume(new MemoryConnector({ source: [1, 2, 3] }), task, {
      loop: { concurrency: { value: 2 }, timeout: 120_000 },
    }).subscribe({ complete: () => (completed = true) });
    await timers.clock.tickAsync(0);
    expect(completed).to.equal(true);
    expect(timers.clock.countTimers()).to.equal(0);
  });

  it('a streaming consume loop stopped by stop$', async () => {
    const stop$ = new Subject<void>();
    let completed = false;
    consume(
      new MemoryConnector<number>(),
      task,
      { loop: { streaming: true } },
      { stop$ },
    ).subscribe({
      complete: () => (completed = true),
    });
    await timers.clock.tickAsync(150);
    stop$.next();
    await timers.clock.tickAsync(0);
    expect(completed).to.equal(true);
    expect(timers.clock.countTimers()).to.equal(0);
  });

  it('a consume loop unsubscribed while work hangs', async () => {
    const hung = consumerTask({ process: () => new Promise<never>(() => undefined) });
    const subscription = consume(new MemoryConnector({ source: [1] }), hung).subscribe();
    await timers.clock.tickAsync(10);
    subscription.unsubscribe();
    await timers.clock.tickAsync(0);
    expect(timers.clock.countTimers()).to.equal(0);
  });

  it('processWith after its source completed', async () => {
    let completed = false;
    from([createTransaction(1), createTransaction(2)])
      .pipe(processWith(task))
      .subscribe({ complete: () => (completed = true) });
    await timers.clock.tickAsync(0);
    expect(completed).to.equal(true);
    expect(timers.clock.countTimers()).to.equal(0);
  });

  it('createDispatcher after its send completed (dispatch retry.timeout armed)', async () => {
    let completed = false;
    createDispatcher(new MemoryConnector<number>(), { maxWait: 0, retry: { timeout: 60_000 } })
      .send(createTransaction(1))
      .subscribe({ complete: () => (completed = true) });
    await timers.clock.tickAsync(0);
    expect(completed).to.equal(true);
    expect(timers.clock.countTimers()).to.equal(0);
  });

  describe('a stop$ that emits on subscription is unsubscribed', () => {
    for (const mode of ['batch', 'continuous'] as const) {
      it(`an interval that starts with a value leaves no timer (${mode})`, async () => {
        let completed = false;
        consume(
          new MemoryConnector({ source: [1, 2] }),
          task,
          { loop: { mode, streaming: true } },
          { stop$: interval(1000).pipe(startWith(0)) },
        ).subscribe({ complete: () => (completed = true) });
        await timers.clock.tickAsync(0);
        expect(completed).to.equal(true);
        expect(timers.clock.countTimers()).to.equal(0);
      });

      it(`a BehaviorSubject keeps no observer, run after run (${mode})`, async () => {
        const stop$ = new BehaviorSubject<boolean>(true);
        for (let run = 0; run < 3; run++) {
          consume(
            new MemoryConnector({ source: [1] }),
            task,
            { loop: { mode } },
            { stop$ },
          ).subscribe();
        }
        await timers.clock.tickAsync(0);
        expect(stop$.observed).to.equal(false);
      });
    }

    it('a stop$ that emits later while work is in flight is unsubscribed when it stops', async () => {
      const stop$ = new Subject<void>();
      const slow = consumerTask({
        process: () => new Promise<void>((resolve) => setTimeout(resolve, 50)),
      });
      let completed = false;
      consume(
        new MemoryConnector({ source: [1] }),
        slow,
        { loop: { streaming: true } },
        { stop$ },
      ).subscribe({ complete: () => (completed = true) });
      await timers.clock.tickAsync(10);
      stop$.next();
      expect(stop$.observed).to.equal(false);
      await timers.clock.tickAsync(50);
      expect(completed).to.equal(true);
      expect(timers.clock.countTimers()).to.equal(0);
    });
  });

  it('dispatchTo unsubscribed while a batch is sent and more wait: the send ending later arms no timer', async () => {
    let resolve: () => void = () => undefined;
    const connector = {
      fetch: () => NEVER,
      dispatch: () => new Promise<void>((settle) => (resolve = settle)),
    } as Connector<number>;
    const source = new Subject<Transaction<number>>();
    const subscription = source
      .pipe(dispatchTo(connector, { batch: 1, maxWait: 1_000 }))
      .subscribe();
    for (let n = 1; n <= 3; n++) source.next(createTransaction(n));
    subscription.unsubscribe();
    resolve();
    await timers.clock.tickAsync(0);
    expect(timers.clock.countTimers()).to.equal(0);
  });
});
