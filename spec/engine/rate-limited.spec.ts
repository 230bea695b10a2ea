import { expect } from 'chai';
import type { Observable } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  processWith,
  RateLimitedError,
  type ConsumerPolicyInput,
  type Logger,
  type Transaction,
} from '../../lib/index.js';
import { rateLimitedDelay } from '../../lib/engine/internal/flow-gates.js';
import { after, failAfter } from './support/handlers.js';
import { settledExactlyOnce, statusOf, TestConnector } from './support/test-connector.js';
import { inVirtualTime, now, record } from './support/virtual-time.js';
import { keptLogger } from './support/kept-logger.js';

/** Marble values: each letter maps to a transaction with that payload. */
function values(...payloads: string[]): Record<string, Transaction<string>> {
  return Object.fromEntries(payloads.map((p) => [p, createTransaction(p, { id: p })]));
}

/** A task whose attempts are refused by `refusal(payload, attempt)` while it returns an error. */
function refusingTask(refusal: (payload: string, call: number) => unknown, logger?: Logger) {
  const starts: string[] = [];
  const calls = new Map<string, number>();
  const task = consumerTask({
    logger,
    process: (tx: Transaction<string>, ctx): Observable<string> => {
      const call = (calls.get(tx.payload) ?? 0) + 1;
      calls.set(tx.payload, call);
      starts.push(`${tx.payload}@${now()}#${ctx.attempt}`);
      const error = refusal(tx.payload, call);
      // Refused after a frame, as a downstream answers: others may start meanwhile.
      return error === undefined ? after(1, tx.payload) : failAfter(1, error);
    },
  });
  return { task, starts };
}

const oneAtATime = (rest: Omit<ConsumerPolicyInput, 'loop'> = {}): ConsumerPolicyInput => ({
  ...rest,
  loop: { concurrency: { value: 1 } },
});

describe('RateLimitedError (a downstream that says "too many requests")', () => {
  it('pauses new starts for retryAfter, then retries the refused transaction without counting the attempt', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task, starts } = refusingTask((payload, call) =>
        payload === 'a' && call === 1 ? new RateLimitedError(50) : undefined,
      );
      const outcomes = record(
        helpers.cold('(abc|)', values('a', 'b', 'c')).pipe(
          processWith(task, {
            loop: { concurrency: { value: 2 } },
            process: { retry: { maxAttempts: 1 } },
          }),
        ),
      );
      scheduler.flush();
      // a and b start; a is refused at 1: nothing new starts until 51 (c waits though b's slot
      // is free), then a again, still its attempt 1 (maxAttempts 1 is not used up).
      expect(starts).to.deep.equal(['a@0#1', 'b@0#1', 'a@51#1', 'c@51#1']);
      expect(outcomes.values.map(statusOf)).to.deep.equal(['success', 'success', 'success']);
    });
  });

  it('without retryAfter pauses 1 s, then 2 s while the downstream keeps refusing; a success resets it', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task, starts } = refusingTask((payload, call) =>
        payload === 'a' && call <= 2 ? new RateLimitedError() : undefined,
      );
      record(helpers.cold('(ab|)', values('a', 'b')).pipe(processWith(task, oneAtATime())));
      scheduler.flush();
      expect(starts).to.deep.equal(['a@0#1', 'a@1001#1', 'a@3002#1', 'b@3003#1']);
    });
  });

  it('recognises an HTTP 429 with Retry-After (seconds) in headers or a Headers object', () => {
    expect(rateLimitedDelay({ status: 429, headers: { 'retry-after': '2' } })).to.equal(2000);
    expect(
      rateLimitedDelay({
        response: { status: 429, headers: new Headers({ 'Retry-After': '1.5' }) },
      }),
    ).to.equal(1500);
    expect(rateLimitedDelay({ statusCode: 429 })).to.equal(null);
    expect(rateLimitedDelay(new RateLimitedError(250))).to.equal(250);
    expect(rateLimitedDelay(new RateLimitedError())).to.equal(null);
    expect(rateLimitedDelay({ status: 503 })).to.equal(undefined);
    expect(rateLimitedDelay(new Error('429'))).to.equal(undefined);
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('no');
        },
      },
    );
    expect(rateLimitedDelay(hostile)).to.equal(undefined);
    const date = new Date(Date.now() + 60_000).toUTCString();
    const fromDate = rateLimitedDelay({ status: 429, headers: { 'retry-after': date } });
    expect(fromDate).to.be.within(58_000, 60_000);
  });

  it('an HTTP-shaped 429 pauses like a RateLimitedError', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task, starts } = refusingTask((payload, call) =>
        payload === 'a' && call === 1
          ? Object.assign(new Error('Too Many Requests'), {
              status: 429,
              headers: { 'retry-after': '3' },
            })
          : undefined,
      );
      record(helpers.cold('(ab|)', values('a', 'b')).pipe(processWith(task, oneAtATime())));
      scheduler.flush();
      expect(starts).to.deep.equal(['a@0#1', 'a@3001#1', 'b@3002#1']);
    });
  });

  it('logs one warning per pause, however many transactions were refused in it', () => {
    inVirtualTime((helpers, scheduler) => {
      const { logger, lines } = keptLogger();
      const { task } = refusingTask(
        (_payload, call) => (call === 1 ? new RateLimitedError(100) : undefined),
        logger,
      );
      const outcomes = record(
        helpers
          .cold('(abcd|)', values('a', 'b', 'c', 'd'))
          .pipe(processWith(task, { loop: { concurrency: { value: 4 } } })),
      );
      scheduler.flush();
      expect(outcomes.values.map(statusOf)).to.deep.equal([
        'success',
        'success',
        'success',
        'success',
      ]);
      expect(lines).to.deep.equal([
        'the downstream is rate limiting (RateLimitedError: rate limited by the downstream, retry after 100 ms): no new transactions for 100 ms',
      ]);
    });
  });

  it('consume neither starts nor fetches during the pause, and settles everything once', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new TestConnector<string>({ source: ['a', 'b', 'c', 'd'] });
      const { task, starts } = refusingTask((payload, call) =>
        payload === 'a' && call === 1 ? new RateLimitedError(40) : undefined,
      );
      const outcomes = record(
        consume(connector, task, { loop: { mode: 'continuous', concurrency: { value: 2 } } }),
      );
      scheduler.flush();
      expect(starts).to.deep.equal(['a@0#1', 'b@0#1', 'a@41#1', 'c@41#1', 'd@42#1']);
      expect(connector.fetchTimes.filter((at) => at > 1 && at < 41)).to.deep.equal([]);
      expect(outcomes.values).to.have.length(4);
      expect(settledExactlyOnce(connector)).to.equal(null);
    });
  });

  it('the transaction budget still applies while refused', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task } = refusingTask(() => new RateLimitedError(30));
      const outcomes = record(
        helpers
          .cold('(a|)', values('a'))
          .pipe(processWith(task, oneAtATime({ transactionRuntime: { timeout: 100 } }))),
      );
      scheduler.flush();
      expect(outcomes.values.map(statusOf)).to.deep.equal(['timeout']);
      expect(outcomes.times).to.deep.equal([100]);
    });
  });
});
