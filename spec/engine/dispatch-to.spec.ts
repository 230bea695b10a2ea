import { expect } from 'chai';
import { EMPTY, from, lastValueFrom, map, Subject, tap, toArray } from 'rxjs';
import {
  ConnectorContractError,
  createTransaction,
  dispatchTo,
  MemoryConnector,
  NonRetryableError,
  PolicyError,
  type Connector,
  type DispatchReceipt,
  type Transaction,
} from '../../lib/index.js';
import { letters } from './support/handlers.js';
import { loggingConnector, SlowConnector } from './support/dispatch-connectors.js';
import { inVirtualTime, record } from './support/virtual-time.js';
import { fakeTimersEachSpec } from './support/fake-timers.js';

const tx = (id: string): Transaction<string> => createTransaction(id, { id });

const inputs = (ids: string): Record<string, Transaction<string>> =>
  Object.fromEntries(Array.from(ids).map((id) => [id, tx(id)]));

/** A receipt as `ids` or `ids!failedIds` for marbles. */
const summary = map((r: DispatchReceipt<string>) => {
  const sent = r.transactions.map((t) => t.id).join('');
  return r.failed.length === 0 ? sent : `${sent}!${r.failed.map((f) => f.transaction.id).join('')}`;
});

const boom = new Error('boom');

describe('dispatchTo', () => {
  describe('definition', () => {
    it('throws ConnectorContractError for a connector without dispatch', () => {
      const fetchOnly = { fetch: () => EMPTY } as unknown as Connector<string>;
      expect(() => dispatchTo(fetchOnly)).to.throw(ConnectorContractError, /dispatch/);
    });

    it('throws PolicyError for wrong options, naming the path', () => {
      expect(() =>
        dispatchTo(new MemoryConnector({ record: true, idPrefix: 'tx-' }), { batch: 0 }),
      ).to.throw(PolicyError, /batch/);
      expect(() =>
        dispatchTo(new MemoryConnector({ record: true, idPrefix: 'tx-' }), {
          batchSize: 3,
        } as unknown as { batch: number }),
      ).to.throw(PolicyError, /batchSize/);
    });

    it('is lazy: nothing is dispatched until subscribed', () => {
      const memory = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
      const pipeline = from([tx('a')]).pipe(dispatchTo(memory, { maxWait: 0 }));
      expect(memory.dispatchCount).to.equal(0);
      pipeline.subscribe();
      expect(memory.dispatchCount).to.equal(1);
    });
  });

  describe('batching (marbles, virtual time)', () => {
    it('by size: one receipt per batch of `batch`, the partial last one flushed on completion', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector();
        const source = cold('-a-b-c-d-e-|', inputs('abcde'));
        expectObservable(source.pipe(dispatchTo(memory, { batch: 2, maxWait: 100 }), summary)).toBe(
          '---x---y---(z|)',
          { x: 'ab', y: 'cd', z: 'e' },
        );
        scheduler.flush();
        expect(calls).to.deep.equal([
          { at: 3, ids: 'ab' },
          { at: 7, ids: 'cd' },
          { at: 11, ids: 'e' },
        ]);
      });
    });

    it('by maxWait: a batch that does not fill leaves maxWait after its first transaction', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        const { memory } = loggingConnector();
        const source = cold('-a-b-------c-----|', inputs('abc'));
        expectObservable(source.pipe(dispatchTo(memory, { batch: 10, maxWait: 5 }), summary)).toBe(
          '------x---------y|',
          { x: 'ab', y: 'c' },
        );
      });
    });

    it('a full batch leaves at once; the wait of the next batch starts with its first transaction', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        const { memory } = loggingConnector();
        const source = cold('-ab--c--------|', inputs('abc'));
        expectObservable(source.pipe(dispatchTo(memory, { batch: 2, maxWait: 5 }), summary)).toBe(
          '--x-------y---|',
          { x: 'ab', y: 'c' },
        );
      });
    });

    it('flushes the partial batch when the source completes', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        const { memory } = loggingConnector();
        expectObservable(
          cold('ab|', inputs('ab')).pipe(dispatchTo(memory, { batch: 3, maxWait: 100 }), summary),
        ).toBe('--(x|)', { x: 'ab' });
      });
    });

    it('an empty source completes at once without dispatching', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory } = loggingConnector();
        expectObservable(cold<Transaction<string>>('---|').pipe(dispatchTo(memory))).toBe('---|');
        scheduler.flush();
        expect(memory.dispatchCount).to.equal(0);
      });
    });

    it('maxWait 0 sends at once, and batches what piled up while a send was busy', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const connector = new SlowConnector(10);
        const run = record(
          cold('(abcde|)', inputs('abcde')).pipe(dispatchTo(connector, { batch: 3, maxWait: 0 })),
        );
        scheduler.flush();
        expect(connector.calls).to.deep.equal([
          { at: 0, ids: 'a' },
          { at: 10, ids: 'bcd' },
          { at: 20, ids: 'e' },
        ]);
        expect(run.completedAt).to.equal(30);
      });
    });
  });

  describe('receipts', () => {
    it('a receipt names the batch in order, what failed, and the attempts', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const { memory } = loggingConnector();
        const values = inputs('ab');
        const run = record(cold('(ab|)', values).pipe(dispatchTo(memory, { batch: 2 })));
        scheduler.flush();
        expect(run.values).to.have.length(1);
        const [receipt] = run.values;
        expect(receipt?.transactions).to.have.length(2);
        expect(receipt?.transactions[0]).to.equal(values['a']);
        expect(receipt?.transactions[1]).to.equal(values['b']);
        expect(receipt?.failed).to.deep.equal([]);
        expect(receipt?.attempts).to.equal(1);
        expect(receipt?.error).to.equal(undefined);
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a', 'b']);
      });
    });

    it('a partial failure is reported in the receipt (failed, no error); the others were dispatched', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const rejected = new Error('b rejected');
        const { memory } = loggingConnector((batch) => ({
          failed: batch
            .filter((t) => t.id === 'b')
            .map((transaction) => ({ transaction, error: rejected })),
        }));
        const run = record(
          cold('(abc|)', inputs('abc')).pipe(
            dispatchTo(memory, { batch: 3, retry: { maxAttempts: 3 } }),
          ),
        );
        scheduler.flush();
        const [receipt] = run.values;
        expect(receipt?.failed.map((f) => [f.transaction.id, f.error])).to.deep.equal([
          ['b', rejected],
        ]);
        expect(receipt?.error).to.equal(undefined);
        expect(receipt?.attempts).to.equal(1);
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a', 'c']);
      });
    });
  });

  describe('retries (virtual time)', () => {
    it('retries a failed batch with backoff: attempts at 0, 10 and 30, one receipt', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector((_batch, call) => {
          if (call < 3) throw boom;
          return undefined;
        });
        const receipts = cold('(ab|)', inputs('ab')).pipe(
          dispatchTo(memory, {
            batch: 2,
            retry: { maxAttempts: 3, backoff: 10, backoffMultiplier: 2 },
          }),
        );
        expectObservable(receipts.pipe(map((r) => `${r.attempts}:${r.failed.length}`))).toBe(
          '30ms (x|)',
          { x: '3:0' },
        );
        scheduler.flush();
        expect(calls.map((c) => c.at)).to.deep.equal([0, 10, 30]);
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['a', 'b']);
      });
    });

    it('backoff is capped by backoffCap', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const { memory, calls } = loggingConnector((_batch, call) => {
          if (call < 4) throw boom;
          return undefined;
        });
        record(
          cold('(a|)', inputs('a')).pipe(
            dispatchTo(memory, {
              retry: { maxAttempts: 4, backoff: 10, backoffMultiplier: 3, backoffCap: 20 },
            }),
          ),
        );
        scheduler.flush();
        expect(calls.map((c) => c.at)).to.deep.equal([0, 10, 30, 50]);
      });
    });

    it('a batch failing every attempt is reported in its receipt and the stream goes on', () => {
      inVirtualTime(({ cold, expectObservable }, scheduler) => {
        const { memory, calls } = loggingConnector((batch) => {
          if (batch.some((t) => t.id === 'a')) throw boom;
          return undefined;
        });
        const seen: DispatchReceipt<string>[] = [];
        const receipts = cold('(abcd|)', inputs('abcd')).pipe(
          dispatchTo(memory, { batch: 2, retry: { maxAttempts: 2, backoff: 10 } }),
          tap((receipt) => seen.push(receipt)),
        );
        expectObservable(receipts.pipe(summary)).toBe('10ms (xy|)', { x: 'ab!ab', y: 'cd' });
        scheduler.flush();
        const [failed] = seen;
        expect(failed?.error).to.equal(boom);
        expect(failed?.attempts).to.equal(2);
        expect(failed?.failed.map((f) => f.error)).to.deep.equal([boom, boom]);
        expect(calls.map((c) => `${c.ids}@${c.at}`)).to.deep.equal(['ab@0', 'ab@10', 'cd@10']);
        expect(memory.dispatched.map((t) => t.id)).to.deep.equal(['c', 'd']);
      });
    });

    it('NonRetryableError ends the retries of a batch at once', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const fatal = new NonRetryableError('no such topic');
        const { memory, calls } = loggingConnector(() => {
          throw fatal;
        });
        const run = record(
          cold('(a|)', inputs('a')).pipe(dispatchTo(memory, { retry: { maxAttempts: 5 } })),
        );
        scheduler.flush();
        expect(calls).to.have.length(1);
        expect(run.values[0]?.error).to.equal(fatal);
        expect(run.values[0]?.attempts).to.equal(1);
      });
    });

    it('a hanging dispatch attempt times out per retry.timeout and is retried', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const connector = new SlowConnector(5, (call) => call === 1);
        const run = record(
          cold('(ab|)', inputs('ab')).pipe(
            dispatchTo(connector, { batch: 2, retry: { maxAttempts: 2, timeout: 20 } }),
          ),
        );
        scheduler.flush();
        expect(connector.calls.map((c) => c.at)).to.deep.equal([0, 20]);
        expect(connector.sending.current).to.equal(0);
        expect(run.values.map((r) => [r.attempts, r.failed.length])).to.deep.equal([[2, 0]]);
        expect(run.times).to.deep.equal([25]);
        expect(run.completedAt).to.equal(25);
      });
    });
  });

  describe('concurrency and backpressure', () => {
    it('sends at most `concurrency` batches at once and completes after the last one', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const connector = new SlowConnector(50);
        const run = record(
          cold('(abcdef|)', inputs('abcdef')).pipe(
            dispatchTo(connector, { batch: 2, concurrency: 2 }),
          ),
        );
        scheduler.flush();
        expect(connector.sending.peak).to.equal(2);
        expect(connector.calls).to.deep.equal([
          { at: 0, ids: 'ab' },
          { at: 0, ids: 'cd' },
          { at: 50, ids: 'ef' },
        ]);
        expect(run.times).to.deep.equal([50, 50, 100]);
        expect(run.completedAt).to.equal(100);
      });
    });

    it('one batch at a time by default; batches never exceed `batch` however much waits', () => {
      inVirtualTime(({ cold }, scheduler) => {
        const connector = new SlowConnector(50);
        const run = record(
          cold('(abcdefg|)', inputs('abcdefg')).pipe(dispatchTo(connector, { batch: 2 })),
        );
        scheduler.flush();
        expect(connector.sending.peak).to.equal(1);
        expect(connector.calls).to.deep.equal([
          { at: 0, ids: 'ab' },
          { at: 50, ids: 'cd' },
          { at: 100, ids: 'ef' },
          { at: 150, ids: 'g' },
        ]);
        expect(run.completedAt).to.equal(200);
      });
    });

    it('a source error is forwarded after the batches it left were sent', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        const { memory } = loggingConnector();
        const source = cold('-a-b-c-#', inputs('abc'), boom);
        expectObservable(source.pipe(dispatchTo(memory, { batch: 2, maxWait: 100 }), summary)).toBe(
          '---x---(y#)',
          { x: 'ab', y: 'c' },
          boom,
        );
      });
    });

    it('a source error waits for a batch in flight, then the error follows its receipt', () => {
      inVirtualTime(({ cold, expectObservable }) => {
        const connector = new SlowConnector(20);
        const source = cold('(ab)#', inputs('ab'), boom);
        expectObservable(source.pipe(dispatchTo(connector, { batch: 2 }), summary)).toBe(
          '20ms (x#)',
          { x: 'ab' },
          boom,
        );
      });
    });

    it('unsubscribing cancels a send in flight and drops the forming batch', () => {
      inVirtualTime(({ hot }, scheduler) => {
        const connector = new SlowConnector(50);
        const source = hot('-a-b-c----', inputs('abc'));
        const run = record(source.pipe(dispatchTo(connector, { batch: 2, maxWait: 10 })));
        scheduler.schedule(() => run.subscription.unsubscribe(), 8);
        scheduler.flush();
        expect(connector.calls).to.deep.equal([{ at: 3, ids: 'ab' }]);
        expect(connector.sending.current).to.equal(0);
        expect(connector.memory.dispatched).to.deep.equal([]);
        expect(run.values).to.deep.equal([]);
      });
    });

    it('a large backlog behind a retried batch is sent without exhausting the stack', () => {
      inVirtualTime((_h, scheduler) => {
        let sent = 0;
        const memory = new MemoryConnector<number>({
          record: false,
          onDispatch: (batch, call) => {
            if (call === 1) throw boom;
            sent += batch.length;
            return undefined;
          },
        });
        const source = from(Array.from({ length: 100_000 }, (_, i) => createTransaction(i)));
        const run = record(
          source.pipe(
            dispatchTo(memory, { batch: 10, maxWait: 5, retry: { maxAttempts: 2, backoff: 5 } }),
          ),
        );
        scheduler.flush();
        expect(run.error).to.equal(undefined);
        expect(run.values).to.have.length(10_000);
        expect(sent).to.equal(100_000);
        expect(run.completedAt).to.equal(5);
      });
    });
  });

  describe('real time', () => {
    it('works with a dispatch that returns a Promise', async () => {
      const received: string[][] = [];
      const connector: Connector<string> = {
        fetch: () => EMPTY,
        dispatch: async (batch) => {
          await Promise.resolve();
          received.push(batch.map((t) => t.id));
        },
      };
      const receipts = await lastValueFrom(
        from(letters(5).map(tx)).pipe(dispatchTo(connector, { batch: 2, maxWait: 5 }), toArray()),
      );
      expect(received).to.deep.equal([['a', 'b'], ['c', 'd'], ['e']]);
      expect(receipts.map((r) => r.failed.length)).to.deep.equal([0, 0, 0]);
    });
  });

  describe('no timers left behind (fake timers)', () => {
    const timers = fakeTimersEachSpec();

    it('after completing', async () => {
      let completed = false;
      from(letters(3).map(tx))
        .pipe(
          dispatchTo(new MemoryConnector<string>({ record: true, idPrefix: 'tx-' }), {
            batch: 2,
            maxWait: 1_000,
          }),
        )
        .subscribe({ complete: () => (completed = true) });
      await timers.clock.tickAsync(0);
      expect(completed).to.equal(true);
      expect(timers.clock.countTimers()).to.equal(0);
    });

    it('after unsubscribing with a batch forming and one waiting to retry', async () => {
      const memory = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        onDispatch: () => {
          throw boom;
        },
      });
      const subject = new Subject<Transaction<string>>();
      const subscription = subject
        .pipe(
          dispatchTo(memory, {
            batch: 2,
            maxWait: 1_000,
            retry: { maxAttempts: 3, backoff: 5_000 },
          }),
        )
        .subscribe();
      for (const id of ['a', 'b', 'c']) subject.next(tx(id));
      await timers.clock.tickAsync(10);
      expect(memory.dispatchCount).to.equal(1);
      subscription.unsubscribe();
      await timers.clock.tickAsync(0);
      expect(timers.clock.countTimers()).to.equal(0);
    });
  });
});
