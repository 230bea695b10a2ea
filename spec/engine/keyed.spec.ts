import { expect } from 'chai';
import { finalize, map, NEVER, take, timer, type Observable } from 'rxjs';
import type { TransactionError } from '../../lib/index.js';
import {
  consume,
  consumerTask,
  createTransaction,
  processWith,
  type ConsumerPolicyInput,
  type Outcome,
  type Transaction,
} from '../../lib/index.js';
import { after, failAfter } from './support/handlers.js';
import { settledExactlyOnce, statusOf, TestConnector } from './support/test-connector.js';
import { Gauge, inVirtualTime, now, record } from './support/virtual-time.js';

/** Payloads name their key and their place in it: `x1` is the first transaction of key `x`. */
const keyOf = (tx: Transaction<string>): string => tx.payload.charAt(0);

/** Marble values: `values('x1', 'x2', 'y1')` maps a → x1, b → x2, c → y1. */
function values(...payloads: string[]): Record<string, Transaction<string>> {
  return Object.fromEntries(
    payloads.map((payload, i) => [
      String.fromCharCode(97 + i),
      createTransaction(payload, { id: payload }),
    ]),
  );
}

const policy = (
  concurrency: number,
  loop: ConsumerPolicyInput['loop'] = {},
  rest: Omit<ConsumerPolicyInput, 'loop'> = {},
): ConsumerPolicyInput => ({ ...rest, loop: { concurrency: { value: concurrency }, ...loop } });

interface KeyedTask {
  readonly task: ReturnType<typeof consumerTask<string, string, undefined>>;
  /** `payload@time` of every process attempt. */
  readonly starts: string[];
  /** Transactions inside `process` at once, by key. */
  readonly perKey: Map<string, Gauge>;
}

/** A keyed task whose process attempt takes `behaviour(payload, attempt)`. */
function keyedTask(
  behaviour: (payload: string, attempt: number) => Observable<string>,
  extra: { onException?: (tx: Transaction<string>) => Observable<unknown> } = {},
): KeyedTask {
  const starts: string[] = [];
  const perKey = new Map<string, Gauge>();
  const task = consumerTask({
    key: keyOf,
    process: (tx: Transaction<string>, ctx) => {
      starts.push(`${tx.payload}@${now()}`);
      const gauge = perKey.get(keyOf(tx)) ?? new Gauge();
      perKey.set(keyOf(tx), gauge);
      gauge.enter();
      return behaviour(tx.payload, ctx.attempt).pipe(finalize(() => gauge.exit()));
    },
    onException: extra.onException,
  });
  return { task, starts, perKey };
}

const lasting = (ms: Record<string, number>, fallback = 10) =>
  keyedTask((payload) => after(ms[payload] ?? fallback, payload));

const payloads = map((o: Outcome<string, string>) => o.transaction.payload);

describe('keyed processing (order per key)', () => {
  describe('processWith', () => {
    it('starts transactions of one key one at a time, in arrival order, others beside them', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { task, starts } = lasting({});
        const source = cold('(abcd|)', values('x1', 'x2', 'y1', 'x3'));
        expectObservable(source.pipe(processWith(task, policy(4)), payloads)).toBe(
          '10ms (ac) 6ms b 9ms (d|)',
          { a: 'x1', b: 'x2', c: 'y1', d: 'x3' },
        );
        scheduler.flush();
        expect(starts).to.deep.equal(['x1@0', 'y1@0', 'x2@10', 'x3@20']);
      });
    });

    it('records the start order: same key in order, the waiting one holds no slot', () => {
      inVirtualTime((helpers, scheduler) => {
        const { task, starts } = lasting({ x1: 30 });
        record(helpers.cold('(abc|)', values('x1', 'x2', 'y1')).pipe(processWith(task, policy(2))));
        scheduler.flush();
        // x2 waits for x1 without taking the second slot: y1 starts at once.
        expect(starts).to.deep.equal(['x1@0', 'y1@0', 'x2@30']);
      });
    });

    it('a slow key does not hold back other keys', () => {
      inVirtualTime((helpers, scheduler) => {
        const { task, starts } = lasting({ x1: 100 });
        record(
          helpers
            .cold('(abcdef|)', values('x1', 'x2', 'y1', 'y2', 'z1', 'z2'))
            .pipe(processWith(task, policy(2))),
        );
        scheduler.flush();
        // y2 waited for y1 and was fetched before z1: it starts first when y1 ends.
        expect(starts).to.deep.equal(['x1@0', 'y1@0', 'y2@10', 'z1@20', 'z2@30', 'x2@100']);
      });
    });

    it('runs up to loop.keyConcurrency.value of one key at a time', () => {
      inVirtualTime((helpers, scheduler) => {
        const { task, starts, perKey } = lasting({});
        record(
          helpers
            .cold('(abcde|)', values('x1', 'x2', 'x3', 'x4', 'x5'))
            .pipe(processWith(task, policy(8, { keyConcurrency: { value: 2 } }))),
        );
        scheduler.flush();
        expect(starts).to.deep.equal(['x1@0', 'x2@0', 'x3@10', 'x4@10', 'x5@20']);
        expect(perKey.get('x')!.peak).to.equal(2);
      });
    });

    it('keeps the key through retries and their backoff', () => {
      inVirtualTime((helpers, scheduler) => {
        const { task, starts } = keyedTask((payload, attempt) =>
          payload === 'x1' && attempt < 3
            ? failAfter(2, new Error('transient'))
            : after(1, payload),
        );
        record(
          helpers
            .cold('(ab|)', values('x1', 'x2'))
            .pipe(
              processWith(
                task,
                policy(
                  4,
                  {},
                  { process: { retry: { maxAttempts: 3, backoff: 5, backoffMultiplier: 1 } } },
                ),
              ),
            ),
        );
        scheduler.flush();
        // x1: attempts at 0, 7 (2 + 5 backoff), 14; ends at 15; only then x2 starts.
        expect(starts).to.deep.equal(['x1@0', 'x1@7', 'x1@14', 'x2@15']);
      });
    });

    it('keeps the key through a timeout and onException', () => {
      inVirtualTime((helpers, scheduler) => {
        const handled: string[] = [];
        const { task, starts } = keyedTask(
          (payload) => (payload === 'x1' ? NEVER : after(1, payload)),
          {
            onException: (tx) =>
              after(5, 'handled').pipe(finalize(() => handled.push(`${tx.payload}@${now()}`))),
          },
        );
        const outcomes = record(
          helpers
            .cold('(ab|)', values('x1', 'x2'))
            .pipe(processWith(task, policy(4, {}, { transactionRuntime: { timeout: 20 } }))),
        );
        scheduler.flush();
        expect(handled).to.deep.equal(['x1@25']);
        expect(starts).to.deep.equal(['x1@0', 'x2@25']);
        expect(outcomes.values.map(statusOf)).to.deep.equal(['timeout', 'success']);
      });
    });

    it('transactions without a key (undefined or null) are not ordered', () => {
      inVirtualTime((helpers, scheduler) => {
        const starts: string[] = [];
        const task = consumerTask({
          key: (tx: Transaction<string>) =>
            tx.payload.startsWith('-') ? (null as unknown as undefined) : undefined,
          process: (tx: Transaction<string>) => {
            starts.push(`${tx.payload}@${now()}`);
            return after(10, tx.payload);
          },
        });
        record(helpers.cold('(abc|)', values('-1', '-2', 'n')).pipe(processWith(task, policy(3))));
        scheduler.flush();
        expect(starts).to.deep.equal(['-1@0', '-2@0', 'n@0']);
      });
    });

    it('a key function that throws fails that transaction only, at stage key, through onException', () => {
      inVirtualTime((helpers, scheduler) => {
        const errors: TransactionError[] = [];
        const task = consumerTask({
          key: (tx: Transaction<string>) => {
            if (tx.payload === 'bad') throw new Error('no customer id');
            return tx.payload.charAt(0);
          },
          process: (tx: Transaction<string>) => after(1, tx.payload),
          onException: (_tx, error) => {
            errors.push(error);
            throw error;
          },
        });
        const outcomes = record(
          helpers.cold('(ab|)', values('bad', 'x1')).pipe(processWith(task, policy(2))),
        );
        scheduler.flush();
        expect(outcomes.values.map(statusOf)).to.deep.equal(['failed', 'success']);
        expect(errors).to.have.length(1);
        expect(errors[0]!.stage).to.equal('key');
        expect(errors[0]!.nonRetryable).to.equal(true);
        expect(errors[0]!.message).to.equal(
          'key of transaction bad could not be computed: Error: no customer id',
        );
      });
    });

    it('a key function that returns something else than a string says what to return', () => {
      inVirtualTime((helpers, scheduler) => {
        const task = consumerTask({
          key: () => 42 as unknown as string,
          process: (tx: Transaction<string>) => after(1, tx.payload),
        });
        const outcomes = record(helpers.cold('(a|)', values('x1')).pipe(processWith(task)));
        scheduler.flush();
        const [outcome] = outcomes.values;
        expect(outcome?.status).to.equal('failed');
        expect(outcome?.status === 'failed' && outcome.error.message).to.equal(
          'key of transaction x1 could not be computed: TypeError: it returned number 42; return a string (String(id) for a number) or undefined for no key',
        );
      });
    });

    it('many distinct keys (idle ones forgotten in bulk) keep order and concurrency per key', () => {
      inVirtualTime((_helpers, scheduler) => {
        // 3,000 transactions over 1,500 keys, one per frame, each key coming back once: the
        // room holds over 1,024 keys (mostly idle) and forgets the idle ones in bulk meanwhile,
        // but not key h, whose first transaction runs for 2,000 frames with the second waiting.
        const payloadsIn = Array.from({ length: 3000 }, (_, i) => (i < 2 ? 'h' : `k${i % 1500}`));
        let running = 0;
        let peak = 0;
        const task = consumerTask({
          key: (tx: Transaction<string>) => tx.payload,
          process: (tx: Transaction<string>) => {
            peak = Math.max(peak, ++running);
            return after(tx.id === 't0' ? 2000 : 2, tx.payload).pipe(finalize(() => running--));
          },
        });
        const outcomes = record(
          timer(0, 1).pipe(
            take(3000),
            map((i) => createTransaction(payloadsIn[i]!, { id: `t${i}` })),
            processWith(task, policy(64)),
          ),
        );
        scheduler.flush();
        expect(outcomes.values).to.have.length(3000);
        expect(outcomes.values.every((o) => o.status === 'success')).to.equal(true);
        expect(peak).to.be.at.most(4);
        // Each key's second transaction started after its first ended (one of each at a time).
        const byKey = new Map<string, string[]>();
        for (const outcome of outcomes.values) {
          const ids = byKey.get(outcome.transaction.payload) ?? [];
          ids.push(outcome.transaction.id);
          byKey.set(outcome.transaction.payload, ids);
        }
        expect(byKey.get('h')).to.deep.equal(['t0', 't1']);
        for (const [key, ids] of byKey) {
          const order = ids.map((id) => Number(id.slice(1)));
          expect(order, `${key} finished in order`).to.deep.equal([...order].sort((a, b) => a - b));
        }
      });
    });

    it('consumerTask rejects a key that is not a function', () => {
      expect(() =>
        consumerTask({ key: 'customerId' as unknown as () => string, process: () => 1 }),
      ).to.throw('task "consumer": key must be a function, got string');
    });
  });

  describe('consume', () => {
    /** Runs `payloads` through a keyed consume; returns the connector and the task's starts. */
    function run(
      payloadsIn: string[],
      durations: Record<string, number>,
      consumerPolicy: ConsumerPolicyInput,
      options: { settleDelay?: number; stopAt?: number; unsubscribeAt?: number } = {},
    ) {
      return inVirtualTime((helpers, scheduler) => {
        const connector = new TestConnector<string>({
          source: payloadsIn,
          settleDelay: options.settleDelay,
        });
        const { task, starts, perKey } = lasting(durations);
        const stop$ =
          options.stopAt === undefined ? undefined : helpers.cold(`${options.stopAt}ms s`);
        const outcomes = record(consume(connector, task, consumerPolicy, { stop$ }));
        if (options.unsubscribeAt !== undefined) {
          scheduler.schedule(() => outcomes.subscription.unsubscribe(), options.unsubscribeAt);
        }
        scheduler.flush();
        return { connector, starts, perKey, outcomes };
      });
    }

    it('holds a key until the settlement finished, not until process returned', () => {
      const { connector, starts } = run(['x1', 'x2'], {}, policy(2, { mode: 'continuous' }), {
        settleDelay: 5,
      });
      expect(starts).to.deep.equal(['x1@0', 'x2@15']);
      expect(connector.settles.map((s) => [s.transaction.payload, s.finishedAt])).to.deep.equal([
        ['x1', 15],
        ['x2', 30],
      ]);
      expect(settledExactlyOnce(connector)).to.equal(null);
    });

    it('fetches past a hot key up to loop.keyBacklog, then pauses until the key drains', () => {
      const hot = Array.from({ length: 12 }, (_, i) => `x${i + 1}`);
      const { connector, starts, outcomes } = run(
        [...hot, 'y1'],
        {},
        policy(2, { mode: 'continuous', keyBacklog: 3 }),
      );
      // At most 2 in flight + 3 waiting for their key are held: no fetch asks for more.
      let delivered = 0;
      for (const call of connector.calls) {
        const settled = connector.settles.filter(
          (s) => s.finishedAt !== null && s.finishedAt <= call.at,
        ).length;
        expect(delivered - settled + call.size, `held after the fetch at ${call.at}`).to.be.at.most(
          5,
        );
        delivered += call.returned;
      }
      expect(connector.calls[0]!.size).to.equal(2);
      // The backlog filled up: some fetch found it full and fetching waited for the key.
      expect(connector.calls.some((call) => call.size === 1)).to.equal(true);
      expect(starts.slice(0, 3)).to.deep.equal(['x1@0', 'x2@10', 'x3@20']);
      expect(outcomes.values).to.have.length(13);
      expect(settledExactlyOnce(connector)).to.equal(null);
      // y1 was fetched once the backlog had room, and ran beside the hot key.
      expect(starts.filter((s) => s.startsWith('y1'))).to.have.length(1);
    });

    it('a graceful stop releases the transactions waiting for their key in fetch order', () => {
      const { connector, outcomes } = run(
        ['x1', 'x2', 'y1', 'x3', 'y2'],
        { x1: 50, y1: 50 },
        policy(5, { mode: 'continuous' }),
        { stopAt: 5 },
      );
      expect(outcomes.values.map((o) => `${o.transaction.payload}:${statusOf(o)}`)).to.deep.equal([
        'x2:released:shutdown',
        'x3:released:shutdown',
        'y2:released:shutdown',
        'x1:success',
        'y1:success',
      ]);
      expect(settledExactlyOnce(connector)).to.equal(null);
      expect(connector.remaining()).to.equal(3);
    });

    it('unsubscribing releases everything, waiting transactions in fetch order', () => {
      const { connector } = run(
        ['x1', 'x2', 'y1', 'x3', 'y2'],
        { x1: 50, y1: 50 },
        policy(5, { mode: 'continuous' }),
        { unsubscribeAt: 5 },
      );
      const settled = connector.settles.map((s) => `${s.transaction.payload}:${s.decision.type}`);
      // The waiting ones first, in fetch order; then the cancelled ones in flight.
      expect(settled.slice(0, 3)).to.deep.equal(['x2:release', 'x3:release', 'y2:release']);
      expect(settled.slice(3).sort()).to.deep.equal(['x1:release', 'y1:release']);
      expect(settledExactlyOnce(connector)).to.equal(null);
      expect(connector.remaining()).to.equal(5);
    });

    it('a failing key function dead-letters its transaction and the loop goes on', () => {
      inVirtualTime((_helpers, scheduler) => {
        const connector = new TestConnector<string>({ source: ['x1', 'oops', 'x2'] });
        const task = consumerTask({
          key: (tx: Transaction<string>) => {
            if (tx.payload === 'oops') throw new Error('unparsable');
            return keyOf(tx);
          },
          process: (tx: Transaction<string>) => after(1, tx.payload),
        });
        const outcomes = record(consume(connector, task, policy(3, { mode: 'continuous' })));
        scheduler.flush();
        expect(outcomes.values.map((o) => `${o.transaction.payload}:${statusOf(o)}`)).to.deep.equal(
          ['oops:failed', 'x1:success', 'x2:success'],
        );
        expect(
          connector.settles.map((s) => `${s.transaction.payload}:${s.decision.type}`),
        ).to.deep.equal(['oops:deadLetter', 'x1:ack', 'x2:ack']);
        expect(settledExactlyOnce(connector)).to.equal(null);
      });
    });
  });
});
