import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EMPTY,
  firstValueFrom,
  lastValueFrom,
  map,
  NEVER,
  type Observable,
  of,
  throwError,
  toArray,
} from 'rxjs';
import {
  CancellationError,
  ConnectorContractError,
  consumerTask,
  createTransaction,
  FileConnector,
  markUndecodable,
  MemoryConnector,
  NonRetryableError,
  producerTask,
  runTransaction,
  runTransactionById,
  TaskDefinitionError,
  TransactionError,
  TransactionNotFoundError,
  type Connector,
  type ConsumerTask,
  type Transaction,
} from '../../lib/index.js';
import { after } from './support/handlers.js';
import { statusOf } from './support/test-connector.js';
import { inVirtualTime, now, record } from './support/virtual-time.js';

const boom = new Error('boom');

const double = consumerTask({ process: (t: Transaction<number>) => t.payload * 2 });

describe('runTransaction', () => {
  it('emits exactly one outcome, then completes', async () => {
    const input = createTransaction(21, { id: 'answer' });
    const outcomes = await lastValueFrom(runTransaction(double, input).pipe(toArray()));
    expect(outcomes).to.have.length(1);
    const [outcome] = outcomes;
    if (outcome?.status !== 'success') return expect.fail('expected success');
    expect(outcome.result).to.equal(42);
    expect(outcome.transaction).to.equal(input);
  });

  it('is cold: the lifecycle runs per subscription, not before', () => {
    inVirtualTime((_h, scheduler) => {
      let calls = 0;
      const task = consumerTask({ process: () => ++calls });
      const run$ = runTransaction(task, createTransaction('x'));
      scheduler.flush();
      expect(calls).to.equal(0);
      record(run$);
      record(run$);
      scheduler.flush();
      expect(calls).to.equal(2);
    });
  });

  it('retries per the policy, with backoff in virtual time (same lifecycle as a loop)', () => {
    inVirtualTime(({ expectObservable }, scheduler) => {
      const attempts: string[] = [];
      const task = consumerTask({
        process: (t: Transaction<string>, ctx) => {
          attempts.push(`${ctx.attempt}@${now()}`);
          if (ctx.attempt < 3) throw boom;
          return t.payload.toUpperCase();
        },
      });
      const outcome$ = runTransaction(task, createTransaction('a'), {
        process: { retry: { maxAttempts: 3, backoff: 10, backoffMultiplier: 3 } },
      });
      expectObservable(
        outcome$.pipe(map((o) => (o.status === 'success' ? `success:${o.result}` : o.status))),
      ).toBe('40ms (x|)', { x: 'success:A' });
      scheduler.flush();
      expect(attempts).to.deep.equal(['1@0', '2@10', '3@40']);
    });
  });

  it('applies the runtime budget (the reference skipped it): a hanging process times out', () => {
    inVirtualTime((_h, scheduler) => {
      let signal: AbortSignal | undefined;
      const task = consumerTask({
        process: (_t: Transaction<string>, ctx): Observable<never> => {
          signal = ctx.signal;
          return NEVER;
        },
      });
      const run = record(
        runTransaction(task, createTransaction('a'), { transactionRuntime: { timeout: 50 } }),
      );
      scheduler.flush();
      const outcome = run.values[0];
      if (outcome?.status !== 'timeout') return expect.fail('expected timeout');
      expect(outcome.error.category).to.equal('timeout');
      expect(outcome.handled).to.equal(false);
      expect(run.times).to.deep.equal([50]);
      expect(run.completedAt).to.equal(50);
      expect(signal?.aborted).to.equal(true);
    });
  });

  it('a per-attempt timeout applies too', () => {
    inVirtualTime((_h, scheduler) => {
      const task = consumerTask({ process: (): Observable<never> => NEVER });
      const run = record(
        runTransaction(task, createTransaction('a'), {
          process: { retry: { maxAttempts: 2, timeout: 15 } },
        }),
      );
      scheduler.flush();
      expect(run.values.map(statusOf)).to.deep.equal(['timeout']);
      expect(run.times).to.deep.equal([30]);
    });
  });

  it('a failure handled by onException → exception; without it → failed; a failing handler → failed', () => {
    inVirtualTime((_h, scheduler) => {
      const failing = {
        process: (): number => {
          throw boom;
        },
      };
      const handled = record(
        runTransaction(
          consumerTask({ ...failing, onException: () => 'noted' }),
          createTransaction('a'),
        ),
      );
      const unhandled = record(runTransaction(consumerTask(failing), createTransaction('b')));
      const broken = record(
        runTransaction(
          consumerTask({
            ...failing,
            onException: (): void => {
              throw new Error('handler broke');
            },
          }),
          createTransaction('c'),
        ),
      );
      scheduler.flush();
      const [exception] = handled.values;
      if (exception?.status !== 'exception') return expect.fail('expected exception');
      expect(exception.handled).to.equal('noted');
      expect(exception.error).to.be.instanceOf(TransactionError);
      expect(exception.error.cause).to.equal(boom);
      expect(unhandled.values.map(statusOf)).to.deep.equal(['failed']);
      const [failed] = broken.values;
      if (failed?.status !== 'failed') return expect.fail('expected failed');
      expect(failed.handlerError?.stage).to.equal('exception');
    });
  });

  it('the exception handler runs once, even when process is retried', () => {
    inVirtualTime((_h, scheduler) => {
      let handled = 0;
      const task = consumerTask({
        process: (): number => {
          throw boom;
        },
        onException: () => {
          handled++;
        },
      });
      record(
        runTransaction(task, createTransaction('a'), { process: { retry: { maxAttempts: 4 } } }),
      );
      scheduler.flush();
      expect(handled).to.equal(1);
    });
  });

  it('NonRetryableError stops the retries at once', () => {
    inVirtualTime((_h, scheduler) => {
      let attempts = 0;
      const task = consumerTask({
        process: (): number => {
          attempts++;
          throw new NonRetryableError('no');
        },
      });
      const run = record(
        runTransaction(task, createTransaction('a'), { process: { retry: { maxAttempts: 5 } } }),
      );
      scheduler.flush();
      expect(attempts).to.equal(1);
      expect(run.values.map(statusOf)).to.deep.equal(['failed']);
    });
  });

  it('an onSuccess failure routes to onException (stage success)', () => {
    inVirtualTime((_h, scheduler) => {
      const stages: (string | undefined)[] = [];
      const task = consumerTask({
        process: () => 1,
        onSuccess: (): void => {
          throw boom;
        },
        onException: (_t: Transaction, error) => void stages.push(error.stage),
      });
      const run = record(runTransaction(task, createTransaction('a')));
      scheduler.flush();
      expect(run.values.map(statusOf)).to.deep.equal(['exception']);
      expect(stages).to.deep.equal(['success']);
    });
  });

  it('an undecodable transaction goes to onException with stage decode, process never runs', () => {
    inVirtualTime((_h, scheduler) => {
      let processed = 0;
      const errors: TransactionError[] = [];
      const task = consumerTask({
        process: () => ++processed,
        onException: (_t: Transaction, error) => void errors.push(error),
      });
      const bad = markUndecodable(createTransaction('{oops', { id: 'bad' }), new SyntaxError('x'));
      const run = record(runTransaction(task, bad));
      scheduler.flush();
      expect(processed).to.equal(0);
      expect(run.values.map(statusOf)).to.deep.equal(['exception']);
      expect(errors[0]?.stage).to.equal('decode');
    });
  });

  it('unsubscribing cancels the lifecycle (the signal aborts) and emits nothing', () => {
    inVirtualTime((_h, scheduler) => {
      let signal: AbortSignal | undefined;
      const task = consumerTask({
        process: (_t: Transaction<string>, ctx) => {
          signal = ctx.signal;
          return after(100, 'late');
        },
      });
      const run = record(runTransaction(task, createTransaction('a')));
      scheduler.schedule(() => run.subscription.unsubscribe(), 10);
      scheduler.flush();
      expect(signal?.aborted).to.equal(true);
      expect(signal?.reason).to.be.instanceOf(CancellationError);
      expect(run.values).to.deep.equal([]);
    });
  });

  it('settles nothing: a fetched transaction stays unsettled on its connector', async () => {
    const connector = new MemoryConnector<number>({ source: [5] });
    const [fetched] = await lastValueFrom(connector.fetch({ size: 1, extra: {} }).pipe(toArray()));
    if (fetched === undefined) return expect.fail('nothing fetched');
    const outcome = await firstValueFrom(runTransaction(double, fetched));
    expect(statusOf(outcome)).to.equal('success');
    expect(connector.counts).to.deep.equal({ ack: 0, deadLetter: 0, release: 0 });
    expect(connector.unsettled).to.equal(1);
  });

  it('rejects a task that is not a consumer task', () => {
    expect(() =>
      runTransaction(producerTask() as unknown as ConsumerTask, createTransaction(1)),
    ).to.throw(TaskDefinitionError);
  });
});

describe('runTransactionById', () => {
  it('looks the transaction up with fetchById, then runs it', async () => {
    const connector = new MemoryConnector<number>({ idPrefix: 'n-' });
    connector.feed(1, 2, 3);
    const outcome = await firstValueFrom(runTransactionById(connector, double, 'n-2'));
    if (outcome.status !== 'success') return expect.fail('expected success');
    expect(outcome.transaction.id).to.equal('n-2');
    expect(outcome.result).to.equal(4);
    expect(connector.counts).to.deep.equal({ ack: 0, deadLetter: 0, release: 0 });
  });

  it('fetchById runs first, and only on subscription', async () => {
    const order: string[] = [];
    const connector: Connector<number> = {
      fetch: () => EMPTY,
      fetchById: (id) => {
        order.push(`fetchById ${id}`);
        return of(createTransaction(7, { id }));
      },
    };
    const task = consumerTask({
      process: (t: Transaction<number>) => {
        order.push(`process ${t.id}`);
        return t.payload;
      },
    });
    const run$ = runTransactionById(connector, task, 'x');
    expect(order).to.deep.equal([]);
    await lastValueFrom(run$);
    expect(order).to.deep.equal(['fetchById x', 'process x']);
  });

  it('accepts a fetchById that returns a Promise', async () => {
    const connector: Connector<number> = {
      fetch: () => EMPTY,
      fetchById: async (id) => createTransaction(10, { id }),
    };
    const outcome = await firstValueFrom(runTransactionById(connector, double, 'p'));
    expect(outcome.status === 'success' && outcome.result).to.equal(20);
  });

  it('errors with ConnectorContractError when the connector cannot look transactions up', async () => {
    const connector: Connector<number> = { fetch: () => EMPTY };
    let processed = 0;
    const task = consumerTask({ process: () => ++processed });
    const error: unknown = await lastValueFrom(runTransactionById(connector, task, 'x')).then(
      () => expect.fail('expected an error'),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ConnectorContractError);
    expect((error as Error).message)
      .to.match(/fetchById/)
      .and.match(/"x"/);
    expect(processed).to.equal(0);
  });

  it('errors with TransactionNotFoundError naming the id when there is no such transaction', async () => {
    const connector = new MemoryConnector<number>();
    connector.feed(1);
    const error: unknown = await lastValueFrom(
      runTransactionById(connector, double, 'missing'),
    ).then(
      () => expect.fail('expected an error'),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TransactionNotFoundError);
    expect((error as TransactionNotFoundError).transactionId).to.equal('missing');
    expect((error as Error).message).to.contain('missing');
  });

  it('a fetchById that completes empty means not found (TransactionNotFoundError, not silence)', async () => {
    const connector: Connector<number> = { fetch: () => EMPTY, fetchById: () => EMPTY };
    const error: unknown = await lastValueFrom(runTransactionById(connector, double, 'x')).then(
      () => expect.fail('expected an error'),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TransactionNotFoundError);
  });

  it('forwards a failing fetchById', async () => {
    const connector: Connector<number> = {
      fetch: () => EMPTY,
      fetchById: () => throwError(() => boom),
    };
    const error: unknown = await lastValueFrom(runTransactionById(connector, double, 'x')).then(
      () => expect.fail('expected an error'),
      (e: unknown) => e,
    );
    expect(error).to.equal(boom);
  });

  it('runs a line of a JSON-lines file by its id (`<file>:<line>`)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ergon-run-by-id-'));
    try {
      const path = join(dir, 'orders.jsonl');
      writeFileSync(path, '{"n":1}\n{"n":2}\n{"n":3}\n');
      const connector = new FileConnector<{ n: number }>({ path });
      const task = consumerTask({ process: (t: Transaction<{ n: number }>) => t.payload.n * 10 });
      const outcome = await firstValueFrom(runTransactionById(connector, task, 'orders.jsonl:2'));
      if (outcome.status !== 'success') return expect.fail('expected success');
      expect(outcome.result).to.equal(20);
      expect(outcome.transaction.metadata).to.deep.include({ line: 2 });
      await connector.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
