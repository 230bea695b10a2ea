import { expect } from 'chai';
import { NEVER, type Observable } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  MemoryConnector,
  processWith,
  TransactionError,
  type ConsumerPolicyInput,
  type Logger,
  type Transaction,
} from '../../lib/index.js';
import { after, failAfter } from './support/handlers.js';
import { settledExactlyOnce, statusOf, TestConnector } from './support/test-connector.js';
import { inVirtualTime, now, record } from './support/virtual-time.js';
import { installOtel } from './telemetry/support/otel.js';
import { keptLogger } from './support/kept-logger.js';

function values(...payloads: string[]): Record<string, Transaction<string>> {
  return Object.fromEntries(payloads.map((p) => [p, createTransaction(p, { id: p })]));
}

/** A task whose downstream is down before `upAt`: attempts started earlier fail after 10. */
function flakyDownstream(
  upAt: number,
  logger?: Logger,
  failure = () => new Error('connection refused'),
) {
  const starts: string[] = [];
  const task = consumerTask({
    logger,
    process: (tx: Transaction<string>, ctx): Observable<string> => {
      starts.push(`${tx.payload}@${now()}#${ctx.attempt}`);
      return now() < upAt ? failAfter(10, failure()) : after(10, tx.payload);
    },
  });
  return { task, starts };
}

const breaker: ConsumerPolicyInput = {
  loop: {
    concurrency: { value: 1 },
    circuitBreaker: { failureRatio: 0.5, minCalls: 3, window: 1000, openFor: 100 },
  },
  process: { retry: { maxAttempts: 3, backoff: 0 } },
};

describe('loop.circuitBreaker', () => {
  it('opens when failures pass the ratio, probes after openFor, closes on a success; nothing is dead-lettered', () => {
    inVirtualTime((helpers, scheduler) => {
      const { logger, lines } = keptLogger(['info', 'warn']);
      const { task, starts } = flakyDownstream(200, logger);
      const outcomes = record(
        helpers.cold('(abc|)', values('a', 'b', 'c')).pipe(processWith(task, breaker)),
      );
      scheduler.flush();
      expect(starts).to.deep.equal([
        'a@0#1',
        'a@10#2',
        'a@20#3', // the third failure in the window trips the breaker at 30; a waits, uncounted
        'a@130#3', // the probe after openFor fails: open again
        'a@240#3', // the next probe goes through: closed
        'b@250#1',
        'c@260#1',
      ]);
      expect(outcomes.values.map(statusOf)).to.deep.equal(['success', 'success', 'success']);
      const breakerLines = lines.filter((line) => line.includes('circuit breaker'));
      expect(breakerLines.map((line) => line.split(':')[0])).to.deep.equal([
        'warn circuit breaker open',
        'info circuit breaker half-open',
        'warn circuit breaker open',
        'info circuit breaker half-open',
        'info circuit breaker closed',
      ]);
    });
  });

  it('opens at minCalls failures in a row, even when the window is full of successes', () => {
    inVirtualTime((helpers, scheduler) => {
      const { logger, lines } = keptLogger(['info', 'warn']);
      const starts: number[] = [];
      const task = consumerTask({
        logger,
        process: (tx: Transaction<string>): Observable<string> => {
          starts.push(now());
          // Healthy for 200 ms (20 calls), then down until 700.
          return now() >= 200 && now() < 700
            ? failAfter(10, new Error('connection refused'))
            : after(10, tx.payload);
        },
      });
      const source = helpers.cold(
        '(abcdefghijklmnopqrstuvwxyz|)',
        values(...'abcdefghijklmnopqrstuvwxyz'.split('')),
      );
      record(
        source.pipe(
          processWith(task, {
            loop: {
              concurrency: { value: 1 },
              circuitBreaker: { failureRatio: 0.5, minCalls: 3, window: '1h', openFor: 100 },
            },
            process: { retry: { maxAttempts: 5, backoff: 0 } },
          }),
        ),
      );
      scheduler.flush();
      // 20 successes in the window keep the ratio low (3 of 23), but 3 failures in a row (200,
      // 210, 220) open it at 230: nothing starts until the probe at 330.
      expect(lines.filter((line) => line.includes('circuit breaker open'))).to.have.length.above(0);
      expect(starts.filter((at) => at > 230 && at < 330)).to.deep.equal([]);
      expect(starts).to.include(330);
    });
  });

  it('does not count business failures (the downstream answered)', () => {
    inVirtualTime((helpers, scheduler) => {
      const { task, starts } = flakyDownstream(
        1_000_000,
        undefined,
        () => new TransactionError('invalid order', { category: 'business' }),
      );
      const outcomes = record(
        helpers.cold('(abc|)', values('a', 'b', 'c')).pipe(processWith(task, breaker)),
      );
      scheduler.flush();
      expect(starts).to.have.length(9);
      expect(outcomes.values.map(statusOf)).to.deep.equal(['failed', 'failed', 'failed']);
    });
  });

  it('with consume: releases what waits to start, fetches nothing while open, and settles everything once', () => {
    inVirtualTime((_helpers, scheduler) => {
      // Each fetch brings twice what was asked: the surplus waits to start.
      const connector = new TestConnector<string>({
        source: ['a', 'b', 'c', 'd', 'e', 'f'],
        overReturn: 2,
      });
      const { task } = flakyDownstream(200);
      const outcomes = record(
        consume(connector, task, {
          ...breaker,
          loop: {
            mode: 'continuous',
            concurrency: { value: 2 },
            circuitBreaker: { failureRatio: 0.5, minCalls: 3, window: 1000, openFor: 100 },
          },
        }),
      );
      scheduler.flush();
      const released = connector.settles.filter(
        (s) => s.decision.type === 'release' && s.decision.reason === 'circuitOpen',
      );
      expect(released.length).to.be.greaterThan(0);
      expect(connector.settles.filter((s) => s.decision.type === 'deadLetter')).to.deep.equal([]);
      const opened = 20; // a and b fail twice each in parallel: the third failure (at 20) trips it
      expect(connector.fetchTimes.filter((at) => at > opened && at < opened + 100)).to.deep.equal(
        [],
      );
      expect(outcomes.values.filter((o) => o.status === 'success')).to.have.length(6);
      expect(outcomes.completedAt).to.be.a('number');
      expect(settledExactlyOnce(connector)).to.equal(null);
    });
  });

  it('counts its state changes (consumer.circuit_breaker.transitions)', async () => {
    const otel = installOtel({ tracing: false, contexts: false });
    try {
      inVirtualTime((_helpers, scheduler) => {
        const task = consumerTask({
          name: 'breaker',
          process: (tx: Transaction<string>): Observable<string> =>
            now() < 200 ? failAfter(10, new Error('connection refused')) : after(10, tx.payload),
        });
        record(consume(new TestConnector<string>({ source: ['a', 'b', 'c'] }), task, breaker));
        scheduler.flush();
      });
      const metrics = await otel.reader.ergonMetrics();
      const name = 'consumer.circuit_breaker.transitions';
      expect(metrics.sum(name, { task: 'breaker', state: 'open' })).to.equal(2);
      expect(metrics.sum(name, { task: 'breaker', state: 'halfOpen' })).to.equal(2);
      expect(metrics.sum(name, { task: 'breaker', state: 'closed' })).to.equal(1);
    } finally {
      await otel.release();
    }
  });

  it('a running consumer reports its concurrency limit (consumer.concurrency.limit)', async () => {
    const otel = installOtel({ tracing: false, contexts: false });
    const task = consumerTask({ name: 'limited', process: () => NEVER });
    const subscription = consume(new MemoryConnector<string>({ source: ['a'] }), task, {
      loop: { concurrency: { value: 3 } },
    }).subscribe();
    try {
      const metrics = await otel.reader.ergonMetrics();
      expect(metrics.gauge('consumer.concurrency.limit', { task: 'limited' })).to.deep.equal([3]);
    } finally {
      subscription.unsubscribe();
      await otel.release();
    }
  });
});
