import { expect } from 'chai';
import { concat, defer, map, NEVER, type Observable, throwError } from 'rxjs';
import {
  consume,
  consumerTask,
  FetchError,
  LoopTimeoutError,
  MemoryConnector,
  type Connector,
  type ConsumerPolicyInput,
  type FetchRequest,
  type Outcome,
  type Transaction,
} from '../../lib/index.js';
import { letters, timedTask } from './support/handlers.js';
import {
  settledExactlyOnce,
  statusOf,
  TestConnector,
  type TestConnectorOptions,
} from './support/test-connector.js';
import { inVirtualTime, record, type Recording } from './support/virtual-time.js';

const batch = (policy: ConsumerPolicyInput = {}): ConsumerPolicyInput => ({
  ...policy,
  loop: { mode: 'batch', ...policy.loop },
});

/**
 * Runs a batch-mode `consume` (`policy`) of a TestConnector (`options`) with a timed task in
 * virtual time to its end, then `check`s the connector and what the run recorded.
 */
function afterBatchRun(
  options: TestConnectorOptions<string>,
  policy: ConsumerPolicyInput,
  check: (connector: TestConnector<string>, run: Recording<Outcome<string>>) => void,
): void {
  inVirtualTime((_h, scheduler) => {
    const connector = new TestConnector<string>(options);
    const run = record(consume(connector, timedTask().task, batch(policy)));
    scheduler.flush();
    check(connector, run);
  });
}

describe('consume — batch mode', () => {
  describe('fetching', () => {
    it('5 items, batch 5, non-streaming → 5 outcomes and exactly 2 fetches (reference case 37)', () => {
      afterBatchRun({ source: letters(5) }, { fetch: { batch: { size: 5 } } }, (connector, run) => {
        expect(run.values.map((o) => o.status)).to.deep.equal(Array(5).fill('success'));
        expect(connector.calls.map((c) => c.returned)).to.deep.equal([5, 0]);
        expect(connector.memory.counts).to.deep.equal({ ack: 5, deadLetter: 0, release: 0 });
        expect(run.completedAt).to.equal(0);
      });
    });

    it('10 items, batch 3 → all 10, each fetch asks for 3 (reference case 38)', () => {
      afterBatchRun(
        { source: letters(10) },
        { loop: { concurrency: { value: 2 } }, fetch: { batch: { size: 3 } } },
        (connector, run) => {
          expect(run.values).to.have.length(10);
          expect(connector.sizes).to.deep.equal([3, 3, 3, 3, 3]);
          expect(connector.calls.map((c) => c.returned)).to.deep.equal([3, 3, 3, 1, 0]);
          expect(settledExactlyOnce(connector)).to.equal(null);
        },
      );
    });

    it('the batch size defaults to the concurrency', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(10) });
        record(
          consume(connector, timedTask().task, batch({ loop: { concurrency: { value: 4 } } })),
        );
        scheduler.flush();
        expect(connector.sizes).to.deep.equal([4, 4, 4, 4]);
        expect(connector.calls.map((c) => c.returned)).to.deep.equal([4, 4, 2, 0]);
      });
    });

    it('passes fetch.extra to every request and keeps the fetched order (reference case 34)', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(4) });
        const extra = { queue: 'orders', visibility: 30 };
        const run = record(
          consume(
            connector,
            timedTask().task,
            batch({ fetch: { batch: { size: 4 }, extra }, loop: { concurrency: { value: 4 } } }),
          ),
        );
        scheduler.flush();
        expect(connector.calls.map((c) => c.extra)).to.deep.equal([extra, extra]);
        expect(run.values.map((o) => o.transaction.payload)).to.deep.equal(['a', 'b', 'c', 'd']);
      });
    });
  });

  describe('concurrency and the barrier', () => {
    it('9 items, batch 9, concurrency 3, 30 ms each → 3 at a time, never more (reference case 39)', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const connector = new TestConnector({ source: letters(9) });
        const { task, gauge } = timedTask(() => 30);
        const outcomes$ = consume(
          connector,
          task,
          batch({ loop: { concurrency: { value: 3 } }, fetch: { batch: { size: 9 } } }),
        ).pipe(map((o) => o.transaction.payload));
        expectObservable(outcomes$).toBe('30ms (abc) 25ms (def) 25ms (ghi|)');
        scheduler.flush();
        expect(gauge.peak).to.equal(3);
        expect(connector.fetchTimes).to.deep.equal([0, 90]);
      });
    });

    it('the next fetch waits for the slowest transaction of the batch (reference case 40)', () => {
      inVirtualTime(({ expectObservable }, scheduler) => {
        const connector = new TestConnector({ source: letters(4) });
        const durations: Record<string, number> = { a: 50, b: 10, c: 10, d: 10 };
        const { task } = timedTask((p) => durations[p] ?? 0);
        const outcomes$ = consume(
          connector,
          task,
          batch({ loop: { concurrency: { value: 2 } }, fetch: { batch: { size: 2 } } }),
        ).pipe(map((o) => o.transaction.payload));
        expectObservable(outcomes$).toBe('10ms b 39ms a 9ms (cd|)');
        scheduler.flush();
        expect(connector.fetchTimes).to.deep.equal([0, 50, 60]);
      });
    });

    it('the barrier includes settlement: the next fetch waits for the last settle to finish', () => {
      afterBatchRun(
        { source: letters(4), settleDelay: 10 },
        { loop: { concurrency: { value: 2 } }, fetch: { batch: { size: 2 } } },
        (connector, run) => {
          expect(connector.fetchTimes).to.deep.equal([0, 10, 20]);
          expect(run.times).to.deep.equal([10, 10, 20, 20]);
          expect(run.completedAt).to.equal(20);
        },
      );
    });

    it('a batch larger than the concurrency waits in line and starts as slots free', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(5) });
        const { task, starts, gauge } = timedTask(() => 10);
        record(
          consume(
            connector,
            task,
            batch({ loop: { concurrency: { value: 2 } }, fetch: { batch: { size: 5 } } }),
          ),
        );
        scheduler.flush();
        expect(starts).to.deep.equal(['a@0', 'b@0', 'c@10', 'd@10', 'e@20']);
        expect(gauge.peak).to.equal(2);
      });
    });
  });

  describe('limit', () => {
    it('limit 5 of 20 with batch 10 → fetches only 5; 5 outcomes, 5 acks, 15 remain (reference case 41)', () => {
      afterBatchRun(
        { source: letters(20) },
        { loop: { limit: 5, concurrency: { value: 5 } }, fetch: { batch: { size: 10 } } },
        (connector, run) => {
          expect(connector.sizes).to.deep.equal([5]);
          expect(run.values).to.have.length(5);
          expect(connector.memory.counts).to.deep.equal({ ack: 5, deadLetter: 0, release: 0 });
          expect(connector.remaining()).to.equal(15);
          expect(run.completedAt).to.equal(0);
        },
      );
    });

    it('limit 5 with batch 3 → asks for 3 then 2 (the reference overshoots to 6)', () => {
      afterBatchRun(
        { source: letters(20) },
        { loop: { limit: 5 }, fetch: { batch: { size: 3 } } },
        (connector, run) => {
          expect(connector.sizes).to.deep.equal([3, 2]);
          expect(run.values).to.have.length(5);
          expect(connector.remaining()).to.equal(15);
        },
      );
    });

    it('limit 0 fetches nothing and completes at once', () => {
      afterBatchRun({ source: letters(3) }, { loop: { limit: 0 } }, (connector, run) => {
        expect(connector.calls).to.deep.equal([]);
        expect(run.values).to.deep.equal([]);
        expect(run.completedAt).to.equal(0);
      });
    });

    it('a limit larger than the source ends at the first empty fetch', () => {
      afterBatchRun(
        { source: letters(3) },
        { loop: { limit: 10 }, fetch: { batch: { size: 2 } } },
        (connector, run) => {
          expect(connector.sizes).to.deep.equal([2, 2, 2]);
          expect(run.values).to.have.length(3);
          expect(run.completedAt).to.equal(0);
        },
      );
    });
  });

  describe('batch interval', () => {
    it('pauses fetch.batch.interval after each non-empty batch (reference case 42)', () => {
      afterBatchRun(
        { source: letters(6) },
        { fetch: { batch: { size: 3, interval: 500 } }, loop: { concurrency: { value: 3 } } },
        (connector, run) => {
          expect(connector.fetchTimes).to.deep.equal([0, 500, 1000]);
          expect(run.times).to.deep.equal([0, 0, 0, 500, 500, 500]);
          expect(run.completedAt).to.equal(1000);
        },
      );
    });

    it('the pause starts when the batch is done, not when it was fetched', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(4) });
        record(
          consume(
            connector,
            timedTask(() => 20).task,
            batch({
              fetch: { batch: { size: 2, interval: 500 } },
              loop: { concurrency: { value: 2 } },
            }),
          ),
        );
        scheduler.flush();
        expect(connector.fetchTimes).to.deep.equal([0, 520, 1040]);
      });
    });

    it('continuous mode has no batch interval', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(6) });
        const run = record(
          consume(connector, timedTask(() => 10).task, {
            loop: { mode: 'continuous', concurrency: { value: 3 } },
            fetch: { batch: { interval: 500 } },
          }),
        );
        scheduler.flush();
        expect(Math.max(...connector.fetchTimes)).to.be.below(500);
        expect(run.completedAt).to.be.below(500);
      });
    });
  });

  describe('loop timeout (reference case 43)', () => {
    it('cancels and releases in-flight and waiting transactions at the deadline, then errors', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(6) });
        const { task, signals } = timedTask(() => 10_000);
        const run = record(
          consume(
            connector,
            task,
            batch({
              loop: { concurrency: { value: 2 }, timeout: 300 },
              fetch: { batch: { size: 4 } },
            }),
          ),
        );
        scheduler.flush();
        expect(run.erroredAt).to.equal(300);
        expect(run.error).to.be.instanceOf(LoopTimeoutError);
        expect((run.error as LoopTimeoutError).timeoutMs).to.equal(300);
        expect(run.values.map(statusOf)).to.deep.equal(Array(4).fill('released:loopTimeout'));
        expect(run.times).to.deep.equal([300, 300, 300, 300]);
        expect([...signals.values()].map((s) => s.aborted)).to.deep.equal([true, true]);
        expect(connector.memory.counts).to.deep.equal({ ack: 0, deadLetter: 0, release: 4 });
        expect(settledExactlyOnce(connector)).to.equal(null);
        expect(connector.remaining()).to.equal(6);
      });
    });

    it('errors only after the releases were settled', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(2), settleDelay: 10 });
        const run = record(
          consume(
            connector,
            timedTask(() => Infinity).task,
            batch({ loop: { concurrency: { value: 2 }, timeout: 300 } }),
          ),
        );
        scheduler.flush();
        expect(run.times).to.deep.equal([310, 310]);
        expect(run.erroredAt).to.equal(310);
        expect(connector.unsettled).to.equal(0);
      });
    });

    it('cancels a fetch in progress at the deadline', () => {
      afterBatchRun(
        { source: letters(2), fetchDelay: 1000 },
        { loop: { timeout: 300 } },
        (connector, run) => {
          expect(run.erroredAt).to.equal(300);
          expect(connector.calls.map((c) => c.cancelled)).to.deep.equal([true]);
          expect(connector.delivered).to.deep.equal([]);
        },
      );
    });

    it('a loop that finishes in time does not error later', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({ source: letters(2) });
        const run = record(
          consume(connector, timedTask(() => 10).task, batch({ loop: { timeout: 300 } })),
        );
        scheduler.flush();
        expect(run.completedAt).to.equal(20);
        expect(run.error).to.equal(undefined);
      });
    });
  });

  describe('fetch failures (reference case 35)', () => {
    it('retries per fetch.retry (with backoff), then errors with FetchError carrying the cause', () => {
      inVirtualTime((_h, scheduler) => {
        const errors = [
          new Error('conn reset 1'),
          new Error('conn reset 2'),
          new Error('conn reset 3'),
        ];
        const connector = new TestConnector({
          source: letters(2),
          failFetch: (call) => errors[call - 1],
        });
        const run = record(
          consume(
            connector,
            timedTask().task,
            batch({ fetch: { retry: { maxAttempts: 3, backoff: 10, backoffMultiplier: 2 } } }),
          ),
        );
        scheduler.flush();
        expect(connector.fetchTimes).to.deep.equal([0, 10, 30]);
        expect(run.erroredAt).to.equal(30);
        expect(run.error).to.be.instanceOf(FetchError);
        expect((run.error as FetchError).cause).to.equal(errors[2]);
        expect((run.error as FetchError).timedOut).to.equal(false);
        expect((run.error as Error).message).to.contain('conn reset 3');
      });
    });

    it('a fetch recovering within its retries goes on normally', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({
          source: letters(2),
          failFetch: (call) => (call === 1 ? new Error('blip') : undefined),
        });
        const run = record(
          consume(connector, timedTask().task, batch({ fetch: { retry: { maxAttempts: 2 } } })),
        );
        scheduler.flush();
        expect(run.values).to.have.length(2);
        expect(run.completedAt).to.not.equal(null);
      });
    });

    it('a fetch whose last attempt times out → FetchError with timedOut, the fetch cancelled', () => {
      afterBatchRun(
        { source: letters(2), fetchDelay: 100 },
        { fetch: { retry: { timeout: 20, maxAttempts: 2 } } },
        (connector, run) => {
          expect(run.erroredAt).to.equal(40);
          expect(run.error).to.be.instanceOf(FetchError);
          expect((run.error as FetchError).timedOut).to.equal(true);
          expect(connector.calls.map((c) => c.cancelled)).to.deep.equal([true, true]);
          expect(connector.unsettled).to.equal(0);
        },
      );
    });

    it('a fetch that emits some transactions and then fails keeps them and asks only for the rest', () => {
      inVirtualTime((_h, scheduler) => {
        const memory = new MemoryConnector<string>({ source: letters(5) });
        const sizes: number[] = [];
        const connector: Connector<string> = {
          fetch: (request: FetchRequest) =>
            defer(() => {
              sizes.push(request.size);
              return sizes.length === 1
                ? concat(
                    memory.fetch({ ...request, size: 1 }),
                    throwError(() => new Error('cut')),
                  )
                : memory.fetch(request);
            }),
          settle: (tx, decision) => memory.settle(tx, decision),
        };
        const run = record(
          consume(
            connector,
            timedTask().task,
            batch({
              fetch: { batch: { size: 3 }, retry: { maxAttempts: 2 } },
              loop: { concurrency: { value: 3 } },
            }),
          ),
        );
        scheduler.flush();
        expect(sizes.slice(0, 2)).to.deep.equal([3, 2]);
        expect(run.values.map((o) => o.transaction.payload)).to.deep.equal(letters(5));
        expect(memory.unsettled).to.equal(0);
      });
    });

    it('a fetch failure after a batch lets that batch finish first', () => {
      inVirtualTime((_h, scheduler) => {
        const connector = new TestConnector({
          source: letters(4),
          failFetch: (call) => (call === 2 ? new Error('down') : undefined),
        });
        const run = record(
          consume(
            connector,
            timedTask(() => 50).task,
            batch({ loop: { concurrency: { value: 2 } }, fetch: { batch: { size: 2 } } }),
          ),
        );
        scheduler.flush();
        expect(run.values.map(statusOf)).to.deep.equal(['success', 'success']);
        expect(run.erroredAt).to.equal(50);
        expect(run.error).to.be.instanceOf(FetchError);
        expect(settledExactlyOnce(connector)).to.equal(null);
      });
    });

    it('a connector whose fetch throws synchronously is treated like a failed fetch', () => {
      inVirtualTime((_h, scheduler) => {
        const connector: Connector<string> = {
          fetch: (): Observable<Transaction<string>> => {
            throw new Error('not connected');
          },
        };
        const run = record(consume(connector, consumerTask({ process: () => 1 })));
        scheduler.flush();
        expect(run.error).to.be.instanceOf(FetchError);
      });
    });
  });

  it('settles every fetched transaction exactly once across success, failure and timeout', () => {
    inVirtualTime((_h, scheduler) => {
      const connector = new TestConnector({ source: letters(12) });
      const task = consumerTask({
        process: (tx: Transaction<string>) => {
          if (tx.payload === 'c' || tx.payload === 'h') throw new Error('bad');
          if (tx.payload === 'e') return NEVER;
          return tx.payload;
        },
        onException: (tx) => {
          if (tx.payload === 'h') throw new Error('worse');
        },
      });
      const run = record(
        consume(
          connector,
          task,
          batch({
            loop: { concurrency: { value: 3 } },
            fetch: { batch: { size: 5 } },
            transactionRuntime: { timeout: 100 },
          }),
        ),
      );
      scheduler.flush();
      expect(run.values).to.have.length(12);
      expect(new Set(run.values.map((o) => o.transaction.id)).size).to.equal(12);
      expect(settledExactlyOnce(connector)).to.equal(null);
      expect(connector.memory.counts).to.deep.equal({ ack: 11, deadLetter: 1, release: 0 });
      expect(run.completedAt).to.equal(100);
    });
  });
});
