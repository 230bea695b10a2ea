import { expect } from 'chai';
import fc from 'fast-check';
import { lastValueFrom, map, of, toArray, type Observable } from 'rxjs';
import type { TransactionError } from '../../lib/index.js';
import {
  consume,
  consumerTask,
  createTransaction,
  DeadLetterError,
  DelayedReleaseUnsupportedError,
  MemoryConnector,
  processWith,
  RetryLaterError,
  type Connector,
  type ConsumerPolicyInput,
  type Outcome,
  type Transaction,
} from '../../lib/index.js';
import { after, failAfter } from './support/handlers.js';
import { Gauge, inVirtualTime, now, record } from './support/virtual-time.js';

/** A streaming loop that ends after `limit` fetched transactions (redeliveries included). */
function streaming(limit: number, concurrency: number, rest: ConsumerPolicyInput = {}) {
  return {
    ...rest,
    loop: {
      mode: 'continuous' as const,
      concurrency: { value: concurrency },
      streaming: true,
      limit,
    },
    fetch: { empty: { backoff: 10, backoffMultiplier: 1 } },
  };
}

function released(outcome: Outcome): { reason: string; delay: number | undefined } | null {
  return outcome.status === 'released' ? { reason: outcome.reason, delay: outcome.delay } : null;
}

describe('RetryLaterError and DeadLetterError (handler-chosen settlement), virtual time', () => {
  it('releases for the delay, frees the slot at once, and the memory connector redelivers after the delay, not before', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new MemoryConnector<string>({ source: ['a', 'b', 'c'], record: true });
      const starts: string[] = [];
      const task = consumerTask({
        process: (tx: Transaction<string>): Observable<string> => {
          starts.push(`${tx.payload}@${now()}`);
          const again = (tx.metadata['deliveryCount'] ?? 1) !== 1;
          return tx.payload === 'a' && !again
            ? failAfter(1, new RetryLaterError(100, 'not yet'))
            : after(5, tx.payload);
        },
      });
      const outcomes = record(consume(connector, task, streaming(4, 1)));
      scheduler.flush();
      // a hands back at 1; b and c run one after the other on the one slot; a comes back at
      // the first fetch at or after 101 (the empty loop polls every 10 frames: 11, 21, … 101).
      expect(starts).to.deep.equal(['a@0', 'b@1', 'c@6', 'a@101']);
      expect(released(outcomes.values[0] as Outcome)).to.deep.equal({
        reason: 'retryLater',
        delay: 100,
      });
      expect(outcomes.values.slice(1).map((outcome) => outcome.status)).to.deep.equal([
        'success',
        'success',
        'success',
      ]);
      expect(connector.settlements[0]?.decision).to.deep.equal({
        type: 'release',
        reason: 'retryLater',
        delay: 100,
      });
      expect(connector.counts).to.deep.equal({ ack: 3, deadLetter: 0, release: 1 });
    });
  });

  it('marbles: a retry-later frees its slot at once and comes back after its delay', () => {
    inVirtualTime((helpers) => {
      const connector = new MemoryConnector<string>({ source: ['a', 'b'] });
      const seen = new Set<string>();
      const task = consumerTask({
        process: (tx: Transaction<string>): Observable<string> => {
          const first = !seen.has(tx.payload);
          seen.add(tx.payload);
          return tx.payload === 'a' && first
            ? failAfter(2, new RetryLaterError(10))
            : after(3, tx.payload);
        },
      });
      const codes = consume(connector, task, streaming(3, 1)).pipe(
        map((outcome) => (outcome.status === 'released' ? 'r' : outcome.transaction.payload)),
      );
      // a hands back at 2 (r); b runs 2–5; a is due at 12, fetched by the poll at 15 and done
      // at 18; the loop ends there (limit 3).
      helpers.expectObservable(codes).toBe('--r--b------------(a|)');
    });
  });

  it('a transaction waiting in a delay holds no slot: the others run at full concurrency', () => {
    inVirtualTime((_helpers, scheduler) => {
      const payloads = Array.from({ length: 12 }, (_, i) => `t${i}`);
      const connector = new MemoryConnector<string>({ source: payloads });
      const gauge = new Gauge();
      const task = consumerTask({
        process: (tx: Transaction<string>): Observable<string> => {
          // The first four wait 10 minutes; the other eight run 10 frames each.
          if (Number(tx.payload.slice(1)) < 4) throw new RetryLaterError(600_000);
          gauge.enter();
          return after(10, tx.payload).pipe((source) => {
            source.subscribe({ complete: () => gauge.exit() });
            return source;
          });
        },
      });
      const outcomes = record(consume(connector, task, { loop: { concurrency: { value: 4 } } }));
      scheduler.flush();
      expect(gauge.peak).to.equal(4);
      expect(outcomes.completedAt).to.equal(20);
      expect(connector.delayed).to.equal(4);
      expect(connector.unsettled).to.equal(0);
    });
  });

  it('DeadLetterError dead-letters at once with its reason: no retry, no onException', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new MemoryConnector<string>({ source: ['a'], record: true });
      let exceptions = 0;
      let attempts = 0;
      const task = consumerTask({
        process: () => {
          attempts++;
          throw new DeadLetterError('negative amount');
        },
        onException: () => exceptions++,
      });
      const outcomes = record(
        consume(connector, task, { process: { retry: { maxAttempts: 5, backoff: 10 } } }),
      );
      scheduler.flush();
      expect(attempts).to.equal(1);
      expect(exceptions).to.equal(0);
      const outcome = outcomes.values[0] as Outcome;
      expect(outcome.status).to.equal('failed');
      const decision = connector.settlements[0]?.decision;
      expect(decision?.type).to.equal('deadLetter');
      const error = (decision as { error: TransactionError }).error;
      expect(error.message).to.contain('negative amount');
      expect(error.category).to.equal('business');
      expect(error.cause).to.be.instanceOf(DeadLetterError);
    });
  });

  it('onException may return (or throw) a RetryLaterError or DeadLetterError to choose the settlement', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new MemoryConnector<string>({ source: ['r', 't', 'd'], record: true });
      const task = consumerTask({
        process: () => {
          throw new Error('downstream down');
        },
        onException: (tx: Transaction<string>) => {
          if (tx.payload === 'r') return new RetryLaterError(30_000);
          if (tx.payload === 't') throw new RetryLaterError(40_000);
          return new DeadLetterError('given up');
        },
      });
      const outcomes = record(consume(connector, task));
      scheduler.flush();
      const byPayload = new Map(outcomes.values.map((o) => [o.transaction.payload, o]));
      expect(released(byPayload.get('r') as Outcome)?.delay).to.equal(30_000);
      expect(released(byPayload.get('t') as Outcome)?.delay).to.equal(40_000);
      const dead = byPayload.get('d') as Outcome & { handlerError?: TransactionError };
      expect(dead.status).to.equal('failed');
      expect(dead.handlerError?.message).to.contain('given up');
      expect(connector.counts).to.deep.equal({ ack: 0, deadLetter: 1, release: 2 });
    });
  });

  it('process.retry.durableAfter: a backoff longer than it becomes a durable retry-later; attempts go on counting across deliveries', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new MemoryConnector<string>({ source: ['a'], record: true });
      const attempts: string[] = [];
      const task = consumerTask({
        process: (_tx: Transaction<string>, ctx) => {
          attempts.push(`${ctx.attempt}@${now()}`);
          throw new Error('still down');
        },
      });
      const outcomes = record(
        consume(
          connector,
          task,
          streaming(3, 1, {
            process: {
              retry: { maxAttempts: 4, backoff: 100, backoffMultiplier: 10, durableAfter: 500 },
            },
          }),
        ),
      );
      scheduler.flush();
      // Attempt 1 at 0, backoff 100 in memory; attempt 2 at 100, backoff 1000 > 500: released
      // for 1000; delivery 2 runs attempt 3, its backoff 10 000: released again; delivery 3
      // runs attempt 4, the last: failed for good.
      expect(attempts).to.deep.equal(['1@0', '2@100', '3@1100', '4@11100']);
      expect(outcomes.values.map((o) => released(o)?.delay ?? o.status)).to.deep.equal([
        1000,
        10_000,
        'failed',
      ]);
      const first = outcomes.values[0] as Outcome & { retryLater?: RetryLaterError };
      expect(first.retryLater?.cause).to.be.instanceOf(Error);
      expect(connector.counts).to.deep.equal({ ack: 0, deadLetter: 1, release: 2 });
    });
  });

  it('processBatch with durableAfter: the call goes on counting attempts across deliveries, so it ends', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new MemoryConnector<string>({ source: ['a', 'b'], record: true });
      const attempts: number[] = [];
      const task = consumerTask({
        processBatch: (_txs: readonly Transaction<string>[], ctx): never => {
          attempts.push(ctx.attempt);
          throw new Error('down');
        },
      });
      const outcomes = record(
        consume(
          connector,
          task,
          streaming(4, 2, {
            process: {
              retry: { maxAttempts: 3, backoff: 100, backoffMultiplier: 10, durableAfter: 500 },
            },
          }),
        ),
      );
      scheduler.flush();
      // Attempts 1 and 2 in memory, then both released for 1000; the next delivery runs the
      // last attempt (3), split in halves (each its attempt 3), and both fail for good.
      expect(attempts).to.deep.equal([1, 2, 3, 3, 3]);
      expect(outcomes.values.map((o) => released(o)?.delay ?? o.status)).to.deep.equal([
        1000,
        1000,
        'failed',
        'failed',
      ]);
    });
  });

  it('a keyed transaction that retries later gives up its place: the rest of its key goes on', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new MemoryConnector<{ key: string; n: number }>({
        source: [
          { key: 'k', n: 1 },
          { key: 'k', n: 2 },
          { key: 'k', n: 3 },
        ],
      });
      const order: string[] = [];
      const task = consumerTask({
        key: (tx: Transaction<{ key: string; n: number }>) => tx.payload.key,
        process: (tx: Transaction<{ key: string; n: number }>) => {
          order.push(`${tx.payload.n}@${now()}`);
          if (tx.payload.n === 1 && tx.metadata['deliveryCount'] === undefined) {
            return failAfter(1, new RetryLaterError(50));
          }
          return after(1, tx.payload.n);
        },
      });
      record(consume(connector, task, streaming(4, 4)));
      scheduler.flush();
      expect(order).to.deep.equal(['1@0', '2@1', '3@2', '1@53']);
    });
  });

  it('processBatch: an item { ok: false, error: RetryLaterError } is released alone; a thrown one releases the whole call', () => {
    inVirtualTime((_helpers, scheduler) => {
      const connector = new MemoryConnector<string>({ source: ['a', 'b', 'c'], record: true });
      const task = consumerTask({
        processBatch: (txs: readonly Transaction<string>[]) =>
          txs.map((tx) =>
            tx.payload === 'b'
              ? { ok: false as const, error: new RetryLaterError(70) }
              : { ok: true as const, value: tx.payload },
          ),
      });
      const outcomes = record(consume(connector, task, { loop: { concurrency: { value: 3 } } }));
      scheduler.flush();
      expect(outcomes.values.map((o) => released(o)?.delay ?? o.status)).to.have.members([
        'success',
        70,
        'success',
      ]);

      const whole = new MemoryConnector<string>({ source: ['x', 'y'], record: true });
      const throwing = consumerTask({
        processBatch: (): never => {
          throw new RetryLaterError(90);
        },
      });
      const all = record(consume(whole, throwing, { loop: { concurrency: { value: 2 } } }));
      scheduler.flush();
      expect(all.values.map((o) => released(o)?.delay)).to.deep.equal([90, 90]);
      expect(whole.delayed).to.equal(2);
    });
  });

  it('processWith (no connector): the outcome is released with reason retryLater and the delay, for the source to act on', async () => {
    const task = consumerTask({
      process: () => {
        throw new RetryLaterError(1234, 'later');
      },
    });
    const outcomes = await lastValueFrom(
      of(createTransaction('a')).pipe(processWith(task), toArray()),
    );
    expect(outcomes.map(released)).to.deep.equal([{ reason: 'retryLater', delay: 1234 }]);
  });

  describe('a connector that cannot delay a release', () => {
    const plain = (): Connector<string> & { decisions: string[] } => {
      const memory = new MemoryConnector<string>({ source: ['a'] });
      const decisions: string[] = [];
      return {
        decisions,
        fetch: (request) => memory.fetch(request),
        settle: (tx, decision) => {
          decisions.push(decision.type);
          memory.settle(tx, decision);
        },
      };
    };

    it('refuses process.retry.durableAfter at start, naming the fix', () => {
      const task = consumerTask({ process: () => 1 });
      expect(() =>
        consume(plain(), task, { process: { retry: { durableAfter: '30s' } } }),
      ).to.throw(DelayedReleaseUnsupportedError, /durableAfter.*cannot hold them back/);
    });

    it('dead-letters a RetryLaterError with an error that says why, never redelivers it at once', async () => {
      const connector = plain();
      const task = consumerTask({
        process: () => {
          throw new RetryLaterError(5000);
        },
      });
      const [outcome] = await lastValueFrom(consume(connector, task).pipe(toArray()));
      expect(outcome?.status).to.equal('failed');
      const error = (outcome as { error: TransactionError }).error;
      expect(error.cause).to.be.instanceOf(DelayedReleaseUnsupportedError);
      expect(error.message).to.contain('scheduling.delayedRelease');
      expect(connector.decisions).to.deep.equal(['deadLetter']);
    });
  });

  it('RetryLaterError refuses a delay that is not a finite number ≥ 0', () => {
    expect(() => new RetryLaterError(-1)).to.throw(RangeError, /finite number/);
    expect(() => new RetryLaterError(Number.NaN)).to.throw(RangeError);
  });

  it('property: every transaction is settled once per delivery, never redelivered before its delay, and ends acked', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            delay: fc.integer({ min: 0, max: 300 }),
            work: fc.integer({ min: 0, max: 20 }),
          }),
          {
            minLength: 1,
            maxLength: 25,
          },
        ),
        fc.integer({ min: 1, max: 6 }),
        (items, concurrency) => {
          inVirtualTime((_helpers, scheduler) => {
            const connector = new MemoryConnector<number>({
              source: items.map((_, i) => i),
              record: true,
            });
            const releasedAt = new Map<number, number>();
            const seen = new Set<number>();
            const gauge = new Gauge();
            const task = consumerTask({
              process: (tx: Transaction<number>) => {
                const item = items[tx.payload] as { delay: number; work: number };
                const first = !seen.has(tx.payload);
                seen.add(tx.payload);
                if (!first) {
                  const at = releasedAt.get(tx.payload) as number;
                  expect(now()).to.be.at.least(at + item.delay);
                }
                gauge.enter();
                const work = first
                  ? failAfter(item.work, new RetryLaterError(item.delay))
                  : after(item.work, tx.payload);
                return work.pipe((source) => {
                  source.subscribe({
                    error: () => {
                      gauge.exit();
                      releasedAt.set(tx.payload, now());
                    },
                    complete: () => gauge.exit(),
                  });
                  return source;
                });
              },
            });
            const outcomes = record(
              consume(connector, task, streaming(items.length * 2, concurrency)),
            );
            scheduler.flush();
            expect(outcomes.completedAt).to.not.equal(null);
            expect(gauge.peak).to.be.at.most(concurrency);
            expect(connector.counts).to.deep.equal({
              ack: items.length,
              deadLetter: 0,
              release: items.length,
            });
            expect(connector.unsettled).to.equal(0);
            expect(connector.delayed).to.equal(0);
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
