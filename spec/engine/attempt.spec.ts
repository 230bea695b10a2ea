import { expect } from 'chai';
import { catchError, NEVER, type Observable, type ObservableInput, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  attempt,
  AttemptTimeoutError,
  NonRetryableError,
  PolicyError,
  TransactionError,
  type AttemptInfo,
} from '../../lib/index.js';
import { inVirtualTime, now } from './support/virtual-time.js';
import { fakeTimersEachSpec } from './support/fake-timers.js';

/** Turns an error into a value naming its class, so marbles can show it. */
function errorKind<T>(source: Observable<T>): Observable<T | string> {
  return source.pipe(
    catchError((error: unknown) =>
      of(error instanceof AttemptTimeoutError ? 'timeout' : `error:${String(error)}`),
    ),
  );
}

/** Records every call of a handler: attempt number, time and signal. */
class Calls {
  readonly attempts: number[] = [];
  readonly times: number[] = [];
  readonly signals: AbortSignal[] = [];
  readonly abortedAt: (number | null)[] = [];

  record(info: AttemptInfo): void {
    const index = this.attempts.length;
    this.attempts.push(info.attempt);
    this.times.push(now());
    this.signals.push(info.signal);
    this.abortedAt.push(null);
    info.signal.addEventListener('abort', () => (this.abortedAt[index] = now()));
  }

  get count(): number {
    return this.attempts.length;
  }
}

describe('attempt', () => {
  describe('results (reference case 3)', () => {
    it('emits a synchronous value once and completes at once', () => {
      inVirtualTime(({ expectObservable }) => {
        expectObservable(attempt(() => 42)).toBe('(a|)', { a: 42 });
      });
    });

    it("emits an Observable result's last value when it completes", () => {
      inVirtualTime(({ cold, expectObservable, expectSubscriptions }) => {
        const result = cold('-a-b-c|');
        expectObservable(attempt(() => result)).toBe('------(c|)');
        expectSubscriptions(result.subscriptions).toBe('^-----!');
      });
    });

    it('emits undefined for an Observable that completes empty', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        expectObservable(attempt(() => cold('---|'))).toBe('---(u|)', { u: undefined });
      });
    });

    it('emits null and falsy sync values as values', () => {
      inVirtualTime(({ expectObservable }) => {
        expectObservable(attempt(() => null)).toBe('(n|)', { n: null });
        expectObservable(attempt(() => 0)).toBe('(z|)', { z: 0 });
      });
    });

    it('errors with the very error thrown (not wrapped) when there is no retry', () => {
      const thrown = new Error('boom');
      let received: unknown;
      let calls = 0;
      attempt(() => {
        calls++;
        throw thrown;
      }).subscribe({ error: (error: unknown) => (received = error) });
      expect(received).to.equal(thrown);
      expect(calls).to.equal(1);
    });

    it('is cold: fn runs only on subscribe, and again on each subscription', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        let calls = 0;
        const result$ = attempt(() => ++calls);
        expect(calls).to.equal(0);
        expectObservable(result$).toBe('(a|)', { a: 1 });
        expectObservable(result$).toBe('(a|)', { a: 2 });
        scheduler.flush();
        expect(calls).to.equal(2);
      });
    });

    it('decodes the retry policy eagerly and rejects a bad one', () => {
      expect(() => attempt(() => 1, { maxAttempts: 0 })).to.throw(PolicyError, /maxAttempts/);
    });
  });

  describe('retries (reference cases 4–8)', () => {
    it('maxAttempts 3 with fn always failing → 3 calls, the last error (reference case 4)', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        let calls = 0;
        const result$ = attempt(
          () => {
            throw new Error(`failure ${++calls}`);
          },
          { maxAttempts: 3 },
        );
        expectObservable(result$).toBe('#', undefined, new Error('failure 3'));
        scheduler.flush();
        expect(calls).to.equal(3);
      });
    });

    it('fails twice, then succeeds → its value after 3 calls (reference case 5)', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const calls = new Calls();
        const result$ = attempt(
          (info) => {
            calls.record(info);
            if (info.attempt < 3) throw new Error('not yet');
            return 'ok';
          },
          { maxAttempts: 3 },
        );
        expectObservable(result$).toBe('(a|)', { a: 'ok' });
        scheduler.flush();
        expect(calls.attempts).to.deep.equal([1, 2, 3]);
      });
    });

    it('NonRetryableError stops at once and is emitted as the same instance (reference case 6)', () => {
      const stop = new NonRetryableError('payload is invalid');
      let calls = 0;
      let received: unknown;
      attempt(
        () => {
          calls++;
          throw stop;
        },
        { maxAttempts: 5 },
      ).subscribe({ error: (error: unknown) => (received = error) });
      expect(calls).to.equal(1);
      expect(received).to.equal(stop);
    });

    it('subclasses of NonRetryableError and non-retryable TransactionErrors stop too (reference case 7)', () => {
      class DeadChannelError extends NonRetryableError {}
      const stoppers: unknown[] = [
        new DeadChannelError('channel closed'),
        TransactionError.wrap(new NonRetryableError('wrapped')),
        new TransactionError('flagged', { nonRetryable: true }),
      ];
      for (const error of stoppers) {
        let calls = 0;
        attempt(
          () => {
            calls++;
            throw error;
          },
          { maxAttempts: 4 },
        ).subscribe({ error: () => undefined });
        expect(calls, String(error)).to.equal(1);
      }
    });

    it('an ordinary TransactionError is retried', () => {
      let calls = 0;
      attempt(
        () => {
          calls++;
          throw new TransactionError('retry me', { category: 'business' });
        },
        { maxAttempts: 3 },
      ).subscribe({ error: () => undefined });
      expect(calls).to.equal(3);
    });

    it('an Observable that errors is retried by resubscribing to a fresh result', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const results = [cold('--#'), cold('--#'), cold('--(a|)')];
        let calls = 0;
        const result$ = attempt(() => results[calls++] as Observable<string>, { maxAttempts: 3 });
        expectObservable(result$).toBe('------(a|)');
        scheduler.flush();
        expect(calls).to.equal(3);
      });
    });

    it('waits backoff × multiplier^k between attempts, on a timer (reference case 8)', () => {
      inVirtualTime(({ cold, expectObservable, expectSubscriptions }) => {
        const failing = cold('-#');
        const result$ = attempt(() => failing, {
          maxAttempts: 3,
          backoff: 10,
          backoffMultiplier: 2,
        });
        // fails at 1, waits 10 → retries at 11, fails at 12, waits 20 → retries at 32, fails at 33.
        expectObservable(result$).toBe('33ms #');
        expectSubscriptions(failing.subscriptions).toBe(['^!', '11ms ^!', '32ms ^!']);
      });
    });

    it('never waits after the last attempt (reference case 8)', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        const result$ = attempt(() => cold('-#'), { maxAttempts: 2, backoff: 1000 });
        expectObservable(result$).toBe('1002ms #');
      });
    });

    it('caps the backoff exactly at backoffCap', () => {
      inVirtualTime((_helpers, scheduler) => {
        const calls = new Calls();
        attempt(
          (info) => {
            calls.record(info);
            throw new Error('down');
          },
          { maxAttempts: 5, backoff: 10, backoffMultiplier: 3, backoffCap: 25 },
        ).subscribe({ error: () => undefined });
        scheduler.flush();
        // delays 10, 25 (not 30), 25, 25
        expect(calls.times).to.deep.equal([0, 10, 35, 60, 85]);
      });
    });

    it('passes the 1-based attempt number to every try', () => {
      const calls = new Calls();
      attempt(
        (info) => {
          calls.record(info);
          throw new Error('x');
        },
        { maxAttempts: 4 },
      ).subscribe({ error: () => undefined });
      expect(calls.attempts).to.deep.equal([1, 2, 3, 4]);
    });

    it('gives each attempt its own signal', () => {
      const calls = new Calls();
      attempt(
        (info) => {
          calls.record(info);
          throw new Error('x');
        },
        { maxAttempts: 2 },
      ).subscribe({ error: () => undefined });
      expect(calls.signals[0]).to.not.equal(calls.signals[1]);
    });

    it('unsubscribing during a backoff cancels the next attempt', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        let calls = 0;
        const result$ = attempt(
          () => {
            calls++;
            throw new Error('x');
          },
          { maxAttempts: 3, backoff: 10 },
        );
        expectObservable(result$, '^----!').toBe('');
        scheduler.flush();
        expect(calls).to.equal(1);
      });
    });
  });

  describe('per-attempt timeout (reference case 9)', () => {
    it('fails a slow attempt with AttemptTimeoutError and unsubscribes its Observable', () => {
      inVirtualTime(({ cold, expectObservable, expectSubscriptions }) => {
        const slow = cold('----------a|');
        expectObservable(errorKind(attempt(() => slow, { timeout: 5 }))).toBe('-----(t|)', {
          t: 'timeout',
        });
        expectSubscriptions(slow.subscriptions).toBe('^----!');
      });
    });

    it('the error says how long the timeout was', () => {
      inVirtualTime((_helpers, scheduler) => {
        let received: unknown;
        attempt(() => NEVER, { timeout: 7 }).subscribe({ error: (e: unknown) => (received = e) });
        scheduler.flush();
        expect(received).to.be.instanceOf(AttemptTimeoutError);
        expect((received as AttemptTimeoutError).timeoutMs).to.equal(7);
        expect((received as Error).message).to.contain('7');
      });
    });

    it('aborts the attempt signal at the timeout, with the AttemptTimeoutError as reason', () => {
      inVirtualTime((_helpers, scheduler) => {
        const calls = new Calls();
        attempt(
          (info) => {
            calls.record(info);
            return NEVER;
          },
          { timeout: 5 },
        ).subscribe({ error: () => undefined });
        scheduler.flush();
        expect(calls.abortedAt).to.deep.equal([5]);
        expect(calls.signals[0]?.aborted).to.equal(true);
        expect(calls.signals[0]?.reason).to.be.instanceOf(AttemptTimeoutError);
      });
    });

    it('a timed-out attempt counts as an attempt; each attempt has its own deadline', () => {
      inVirtualTime(({ cold, expectObservable, expectSubscriptions }, scheduler) => {
        const slow = cold('----------a|');
        const calls = new Calls();
        const result$ = attempt(
          (info) => {
            calls.record(info);
            return slow;
          },
          { timeout: 5, maxAttempts: 2 },
        );
        expectObservable(errorKind(result$)).toBe('----------(t|)', { t: 'timeout' });
        expectSubscriptions(slow.subscriptions).toBe(['^----!', '-----^----!']);
        scheduler.flush();
        expect(calls.attempts).to.deep.equal([1, 2]);
        expect(calls.abortedAt).to.deep.equal([5, 10]);
      });
    });

    it('the deadline restarts with every attempt (it is not a deadline for all of them)', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        const results = [cold('----#'), cold('----#'), cold('----(a|)')];
        let calls = 0;
        const result$ = attempt(() => results[calls++] as Observable<string>, {
          timeout: 5,
          maxAttempts: 3,
        });
        expectObservable(result$).toBe('12ms (a|)');
      });
    });

    it('an attempt that beats its deadline is not aborted later', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const calls = new Calls();
        const result$ = attempt(
          (info) => {
            calls.record(info);
            return cold('--a|');
          },
          { timeout: 5 },
        );
        expectObservable(result$).toBe('---(a|)');
        scheduler.flush();
        expect(calls.signals[0]?.aborted).to.equal(false);
        expect(calls.abortedAt).to.deep.equal([null]);
      });
    });

    it('values an attempt emitted before timing out are not emitted', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        const result$ = attempt(() => cold('-a-b------c|'), { timeout: 5 });
        expectObservable(errorKind(result$)).toBe('-----(t|)', { t: 'timeout' });
      });
    });

    it('a backoff after a timeout is waited like after any failure, then no backoff at the end', () => {
      inVirtualTime(({ expectObservable }) => {
        const result$ = attempt(() => NEVER, { timeout: 5, maxAttempts: 2, backoff: 100 });
        // 0–5 attempt 1, 5–105 backoff, 105–110 attempt 2, error at 110.
        expectObservable(errorKind(result$)).toBe('110ms (t|)', { t: 'timeout' });
      });
    });
  });

  describe('cancellation', () => {
    it('unsubscribing aborts the running attempt and unsubscribes its Observable', () => {
      inVirtualTime(({ cold, expectObservable, expectSubscriptions }, scheduler) => {
        const calls = new Calls();
        const work = cold('-----a|');
        const result$ = attempt((info) => {
          calls.record(info);
          return work;
        });
        expectObservable(result$, '^--!').toBe('');
        expectSubscriptions(work.subscriptions).toBe('^--!');
        scheduler.flush();
        expect(calls.abortedAt).to.deep.equal([3]);
      });
    });

    it('a successful attempt is never aborted, even when the subscriber unsubscribes after', () => {
      const calls = new Calls();
      const subscription = attempt((info) => {
        calls.record(info);
        return 'done';
      }).subscribe();
      subscription.unsubscribe();
      expect(calls.signals[0]?.aborted).to.equal(false);
    });

    it('the abort reason on unsubscribe is an Error (so signal.throwIfAborted() throws an Error)', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const calls = new Calls();
        expectObservable(
          attempt((info) => {
            calls.record(info);
            return NEVER;
          }),
          '^-!',
        ).toBe('');
        scheduler.flush();
        expect(calls.signals[0]?.aborted).to.equal(true);
        expect(calls.signals[0]?.reason).to.be.instanceOf(Error);
      });
    });
  });

  describe('options.scheduler', () => {
    it('runs backoff and timeouts on the given scheduler', () => {
      const scheduler = new TestScheduler(() => undefined);
      const times: number[] = [];
      let received: unknown;
      attempt(
        () => {
          times.push(scheduler.now());
          return NEVER;
        },
        { maxAttempts: 2, timeout: 40, backoff: 30 },
        { scheduler },
      ).subscribe({ error: (error: unknown) => (received = error) });
      expect(times).to.deep.equal([0]);
      scheduler.flush();
      expect(times).to.deep.equal([0, 70]);
      expect(scheduler.now()).to.equal(110);
      expect(received).to.be.instanceOf(AttemptTimeoutError);
    });
  });

  describe('promise results (fake timers)', () => {
    const timers = fakeTimersEachSpec();

    /** Subscribes and records what the attempt emits. */
    function observe<T>(source: ObservableInput<T> & Observable<T>) {
      const seen = { values: [] as T[], error: undefined as unknown, completed: false };
      source.subscribe({
        next: (value) => seen.values.push(value),
        error: (error: unknown) => (seen.error = error),
        complete: () => (seen.completed = true),
      });
      return seen;
    }

    it('emits the resolved value', async () => {
      const seen = observe(attempt(() => Promise.resolve(7)));
      await timers.clock.tickAsync(0);
      expect(seen.values).to.deep.equal([7]);
      expect(seen.completed).to.equal(true);
    });

    it('retries a rejected promise with backoff and emits the later value', async () => {
      let calls = 0;
      const seen = observe(
        attempt(() => (++calls < 3 ? Promise.reject(new Error('no')) : Promise.resolve('yes')), {
          maxAttempts: 3,
          backoff: 10,
        }),
      );
      await timers.clock.tickAsync(9);
      expect(calls).to.equal(1);
      await timers.clock.tickAsync(1);
      expect(calls).to.equal(2);
      await timers.clock.tickAsync(20);
      expect(calls).to.equal(3);
      expect(seen.values).to.deep.equal(['yes']);
    });

    it('times out a promise that never settles, exactly at the deadline, and aborts it', async () => {
      let signal: AbortSignal | undefined;
      const seen = observe(
        attempt(
          (info) => {
            signal = info.signal;
            return new Promise<never>(() => undefined);
          },
          { timeout: 20 },
        ),
      );
      await timers.clock.tickAsync(19);
      expect(seen.error).to.equal(undefined);
      expect(signal?.aborted).to.equal(false);
      await timers.clock.tickAsync(1);
      expect(seen.error).to.be.instanceOf(AttemptTimeoutError);
      expect(signal?.aborted).to.equal(true);
    });

    it("ignores a timed-out attempt's late result: the retry's result wins", async () => {
      let calls = 0;
      const seen = observe(
        attempt(
          () => {
            calls++;
            return calls === 1
              ? new Promise<string>((resolve) => setTimeout(() => resolve('late'), 30))
              : new Promise<string>((resolve) => setTimeout(() => resolve('fresh'), 15));
          },
          { timeout: 20, maxAttempts: 2 },
        ),
      );
      // attempt 1 times out at 20; attempt 2 runs 20–35; attempt 1 resolves 'late' at 30.
      await timers.clock.tickAsync(100);
      expect(calls).to.equal(2);
      expect(seen.values).to.deep.equal(['fresh']);
      expect(seen.error).to.equal(undefined);
    });

    it('a handler honouring the signal really stops (its timer is cleared)', async () => {
      let finished = false;
      observe(
        attempt(
          ({ signal }) =>
            new Promise<void>((resolve, reject) => {
              const id = setTimeout(() => {
                finished = true;
                resolve();
              }, 1000);
              signal.addEventListener('abort', () => {
                clearTimeout(id);
                reject(new Error('aborted'));
              });
            }),
          { timeout: 10 },
        ),
      );
      await timers.clock.tickAsync(2000);
      expect(finished).to.equal(false);
    });
  });
});
