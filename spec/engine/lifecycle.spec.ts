import { expect } from 'chai';
import {
  defer,
  from,
  lastValueFrom,
  NEVER,
  of,
  throwError,
  timeout,
  toArray,
  type Observable,
} from 'rxjs';
import log from 'loglevel';
import {
  AttemptTimeoutError,
  consume,
  consumerTask,
  createTransaction,
  markUndecodable,
  MemoryConnector,
  NonRetryableError,
  TransactionError,
  type Connector,
  type ConsumerPolicyInput,
  type ConsumerTaskDefinition,
  type FetchRequest,
  type Outcome,
  type SettleDecision,
  type Transaction,
} from '../../lib/index.js';
import { after, failAfter } from './support/handlers.js';
import { settledExactlyOnce, TestConnector } from './support/test-connector.js';
import { inVirtualTime, now, record, type Recording } from './support/virtual-time.js';

type Definition<R> = ConsumerTaskDefinition<string, R, undefined>;

/**
 * Runs `definition` over `payloads` with `consume` in virtual time and returns what happened:
 * the recording of the outcomes and the connector.
 */
function runTask<R>(
  definition: Definition<R>,
  policy: ConsumerPolicyInput = {},
  payloads: string[] = ['a'],
): { run: Recording<Outcome<string, R>>; connector: TestConnector<string> } {
  return inVirtualTime((_helpers, scheduler) => {
    const connector = new TestConnector<string>({ source: payloads });
    const run = record(consume(connector, consumerTask(definition), policy));
    scheduler.flush();
    return { run, connector };
  });
}

/** The only outcome of a one-transaction run. */
function only<R>(run: Recording<Outcome<string, R>>): Outcome<string, R> {
  expect(run.values, 'number of outcomes').to.have.length(1);
  return run.values[0] as Outcome<string, R>;
}

/** Counts calls of each handler and keeps what they were given. */
class Spy {
  readonly calls: string[] = [];
  readonly errors: TransactionError[] = [];
  readonly signals: Record<string, AbortSignal[]> = { process: [], success: [], exception: [] };
  readonly times: Record<string, number[]> = { process: [], success: [], exception: [] };

  hit(stage: 'process' | 'success' | 'exception', signal: AbortSignal): void {
    this.calls.push(stage);
    this.signals[stage]?.push(signal);
    this.times[stage]?.push(now());
  }

  count(stage: string): number {
    return this.calls.filter((call) => call === stage).length;
  }
}

describe('lifecycle (through consume)', () => {
  describe('happy path (reference case 21)', () => {
    it('runs process, then onSuccess once with its result; acks; never calls onException', () => {
      const spy = new Spy();
      const seen: unknown[] = [];
      const { run, connector } = runTask({
        process: (tx, ctx) => {
          spy.hit('process', ctx.signal);
          return `${tx.payload}!`;
        },
        onSuccess: (_tx, result, ctx) => {
          spy.hit('success', ctx.signal);
          seen.push(result);
          return 'success handler value';
        },
        onException: (_tx, _error, ctx) => spy.hit('exception', ctx.signal),
      });
      expect(spy.calls).to.deep.equal(['process', 'success']);
      expect(seen).to.deep.equal(['a!']);
      const outcome = only(run);
      expect(outcome.status).to.equal('success');
      expect(outcome.status === 'success' && outcome.result).to.equal('a!');
      expect(outcome.transaction.payload).to.equal('a');
      expect(connector.memory.counts).to.deep.equal({ ack: 1, deadLetter: 0, release: 0 });
      expect(run.completedAt).to.equal(0);
    });

    it('succeeds without onSuccess', () => {
      const { run, connector } = runTask({ process: () => 1 });
      expect(only(run).status).to.equal('success');
      expect(connector.memory.counts.ack).to.equal(1);
    });

    it("an Observable process result counts with its last value, at its completion's time", () => {
      const { run } = runTask({ process: () => of(1, 2) });
      const outcome = only(run);
      expect(outcome.status === 'success' && outcome.result).to.equal(2);

      const timed = runTask({ process: () => after(30, 'late') });
      expect(timed.run.times).to.deep.equal([30]);
    });

    it('passes a context with stage, attempt, services, logger and signal', () => {
      const services = { db: 'pool' };
      const logger = log.getLogger('spec.lifecycle');
      const contexts: { stage: string; attempt: number; services: unknown; logger: unknown }[] = [];
      inVirtualTime((_helpers, scheduler) => {
        const connector = new MemoryConnector<string>({
          record: true,
          idPrefix: 'tx-',
          source: ['a'],
        });
        const task = consumerTask({
          services,
          logger,
          process: (_tx: Transaction<string>, ctx) => {
            contexts.push({ ...pick(ctx) });
            if (ctx.attempt === 1) throw new Error('again');
            return 1;
          },
          onSuccess: (_tx, _result, ctx) => {
            contexts.push(pick(ctx));
            throw new Error('then fail');
          },
          onException: (_tx, _error, ctx) => {
            contexts.push(pick(ctx));
            expect(ctx.signal).to.be.instanceOf(AbortSignal);
          },
        });
        consume(connector, task, { process: { retry: { maxAttempts: 2 } } }).subscribe();
        scheduler.flush();
      });
      expect(contexts).to.deep.equal([
        { stage: 'process', attempt: 1, services, logger },
        { stage: 'process', attempt: 2, services, logger },
        { stage: 'success', attempt: 1, services, logger },
        { stage: 'exception', attempt: 1, services, logger },
      ]);

      function pick(ctx: { stage: string; attempt: number; services: unknown; logger: unknown }) {
        return {
          stage: ctx.stage,
          attempt: ctx.attempt,
          services: ctx.services,
          logger: ctx.logger,
        };
      }
    });

    it('promise handlers work (real time)', async () => {
      const connector = new MemoryConnector<number>({
        record: true,
        idPrefix: 'tx-',
        source: [1, 2],
      });
      const task = consumerTask({
        process: async (tx: Transaction<number>) => {
          await Promise.resolve();
          return tx.payload * 10;
        },
        onSuccess: async () => undefined,
      });
      const outcomes = await lastValueFrom(consume(connector, task).pipe(toArray()));
      expect(outcomes.map((o) => (o.status === 'success' ? o.result : o.status))).to.deep.equal([
        10, 20,
      ]);
      expect(connector.counts.ack).to.equal(2);
    });
  });

  describe('failure routing (reference cases 22–32)', () => {
    it('a generic error reaches onException once, wrapped as system with the cause (reference case 22)', () => {
      const thrown = new Error('db down');
      const received: TransactionError[] = [];
      const { run, connector } = runTask({
        process: () => {
          throw thrown;
        },
        onException: (_tx, error) => {
          received.push(error);
          return 'logged';
        },
      });
      expect(received).to.have.length(1);
      const [error] = received as [TransactionError];
      expect(error).to.be.instanceOf(TransactionError);
      expect(error.category).to.equal('system');
      expect(error.cause).to.equal(thrown);
      expect(error.stage).to.equal('process');
      expect(error.transactionId).to.equal('tx-1');
      const outcome = only(run);
      expect(outcome).to.include({ status: 'exception', handled: 'logged', error });
      expect(connector.memory.counts).to.deep.equal({ ack: 1, deadLetter: 0, release: 0 });
    });

    it('an error named TimeoutError gets category timeout (status timeout, handled → ack; reference case 23)', () => {
      class TimeoutError extends Error {
        override name = 'TimeoutError';
      }
      const received: TransactionError[] = [];
      const { run, connector } = runTask({
        process: () => {
          throw new TimeoutError('upstream slow');
        },
        onException: (_tx, error) => {
          received.push(error);
        },
      });
      expect(received.map((e) => e.category)).to.deep.equal(['timeout']);
      expect(only(run)).to.include({ status: 'timeout', handled: true });
      expect(connector.memory.counts.ack).to.equal(1);
    });

    it("RxJS's timeout operator inside a handler counts as a timeout too (reference case 23)", () => {
      const received: TransactionError[] = [];
      const { run } = runTask({
        process: () => NEVER.pipe(timeout(5)),
        onException: (_tx, error) => {
          received.push(error);
        },
      });
      expect(received.map((e) => e.category)).to.deep.equal(['timeout']);
      expect(run.times).to.deep.equal([5]);
    });

    it('a TransactionError thrown by process reaches onException as the same instance (reference case 24)', () => {
      const business = new TransactionError('unknown customer', { category: 'business' });
      const received: TransactionError[] = [];
      const { run } = runTask({
        process: () => {
          throw business;
        },
        onException: (_tx, error) => {
          received.push(error);
        },
      });
      expect(received).to.have.length(1);
      expect(received[0]).to.equal(business);
      const outcome = only(run);
      expect(outcome.status === 'exception' && outcome.error).to.equal(business);
    });

    it('process.retry.maxAttempts 3, always failing → process 3×, onException 1× (reference case 26)', () => {
      const spy = new Spy();
      runTask(
        {
          process: (_tx, ctx) => {
            spy.hit('process', ctx.signal);
            throw new Error('nope');
          },
          onException: (_tx, _e, ctx) => spy.hit('exception', ctx.signal),
        },
        { process: { retry: { maxAttempts: 3 } } },
      );
      expect(spy.calls).to.deep.equal(['process', 'process', 'process', 'exception']);
    });

    it('process retries wait their backoff (virtual time; reference case 26)', () => {
      const spy = new Spy();
      const { run } = runTask(
        {
          process: (_tx, ctx) => {
            spy.hit('process', ctx.signal);
            if (ctx.attempt < 3) throw new Error('nope');
            return 'ok';
          },
        },
        { process: { retry: { maxAttempts: 3, backoff: 50, backoffMultiplier: 2 } } },
      );
      expect(spy.times.process).to.deep.equal([0, 50, 150]);
      expect(run.times).to.deep.equal([150]);
      expect(only(run).status).to.equal('success');
    });

    it('NonRetryableError with maxAttempts 5 → process 1×, onException 1× with it as cause (reference case 27)', () => {
      const stop = new NonRetryableError('invalid payload');
      const spy = new Spy();
      runTask(
        {
          process: (_tx, ctx) => {
            spy.hit('process', ctx.signal);
            throw stop;
          },
          onException: (_tx, error, ctx) => {
            spy.hit('exception', ctx.signal);
            spy.errors.push(error);
          },
        },
        { process: { retry: { maxAttempts: 5 } } },
      );
      expect(spy.calls).to.deep.equal(['process', 'exception']);
      expect(spy.errors[0]?.cause).to.equal(stop);
      expect(spy.errors[0]?.nonRetryable).to.equal(true);
    });

    it('onSuccess failing (maxAttempts 2) → onSuccess 2×, onException 1×; process not re-run (reference case 28)', () => {
      const successError = new Error('could not write result');
      const spy = new Spy();
      const { run, connector } = runTask(
        {
          process: (_tx, ctx) => {
            spy.hit('process', ctx.signal);
            return 1;
          },
          onSuccess: (_tx, _r, ctx) => {
            spy.hit('success', ctx.signal);
            throw successError;
          },
          onException: (_tx, error, ctx) => {
            spy.hit('exception', ctx.signal);
            spy.errors.push(error);
          },
        },
        { success: { retry: { maxAttempts: 2 } } },
      );
      expect(spy.calls).to.deep.equal(['process', 'success', 'success', 'exception']);
      expect(spy.errors[0]?.cause).to.equal(successError);
      expect(spy.errors[0]?.stage).to.equal('success');
      expect(only(run).status).to.equal('exception');
      expect(connector.memory.counts.ack).to.equal(1);
    });

    it('onException failing too → status failed, dead-lettered with the handler error (reference case 30)', () => {
      const processError = new Error('process broke');
      const handlerError = new Error('handler broke');
      const { run, connector } = runTask({
        process: () => {
          throw processError;
        },
        onException: () => {
          throw handlerError;
        },
      });
      const outcome = only(run);
      expect(outcome.status).to.equal('failed');
      if (outcome.status !== 'failed') return;
      expect(outcome.error.cause).to.equal(processError);
      expect(outcome.handlerError?.cause).to.equal(handlerError);
      expect(outcome.handlerError?.stage).to.equal('exception');
      expect(connector.memory.counts).to.deep.equal({ ack: 0, deadLetter: 1, release: 0 });
      const decision = connector.memory.settlements[0]?.decision;
      expect(decision?.type === 'deadLetter' && decision.error).to.equal(outcome.handlerError);
    });

    it('onException retried per exception.retry, then the loop carries on (reference case 31)', () => {
      const spy = new Spy();
      const { run, connector } = runTask(
        {
          process: (tx) => {
            if (tx.payload === 'bad') throw new Error('bad');
            return tx.payload;
          },
          onException: (_tx, _e, ctx) => {
            spy.hit('exception', ctx.signal);
            throw new Error('still bad');
          },
        },
        { exception: { retry: { maxAttempts: 2 } } },
        ['bad', 'good'],
      );
      expect(spy.count('exception')).to.equal(2);
      expect(run.values.map((o) => `${o.transaction.payload}:${o.status}`)).to.deep.equal([
        'bad:failed',
        'good:success',
      ]);
      expect(run.completedAt).to.not.equal(null);
      expect(connector.memory.counts).to.deep.equal({ ack: 1, deadLetter: 1, release: 0 });
    });

    it('onException returning a value → status exception with it as handled; acked (reference case 32)', () => {
      const { run, connector } = runTask({
        process: () => throwError(() => new Error('x')),
        onException: () => of('handled'),
      });
      expect(only(run)).to.include({ status: 'exception', handled: 'handled' });
      expect(connector.memory.counts.ack).to.equal(1);
    });

    it('without onException a failure is dead-lettered with the lifecycle error', () => {
      const { run, connector } = runTask({
        process: () => {
          throw new Error('unhandled');
        },
      });
      const outcome = only(run);
      expect(outcome.status).to.equal('failed');
      const decision = connector.memory.settlements[0]?.decision;
      expect(decision?.type).to.equal('deadLetter');
      expect(decision?.type === 'deadLetter' && outcome.status === 'failed').to.equal(true);
      if (decision?.type === 'deadLetter' && outcome.status === 'failed') {
        expect(decision.error).to.equal(outcome.error);
      }
    });

    it('a handler returning an Observable that errors after a while fails at that time', () => {
      const { run } = runTask({
        process: () => failAfter(20, new Error('late failure')),
        onException: () => after(5, 'ok'),
      });
      expect(run.times).to.deep.equal([25]);
      expect(only(run).status).to.equal('exception');
    });
  });

  describe('runtime budget (reference cases 44–45)', () => {
    it('a hung process is cancelled at the budget; onException runs once with a timeout (reference case 44)', () => {
      const spy = new Spy();
      const { run, connector } = runTask(
        {
          process: (_tx, ctx) => {
            spy.hit('process', ctx.signal);
            return NEVER;
          },
          onException: (_tx, error, ctx) => {
            spy.hit('exception', ctx.signal);
            spy.errors.push(error);
            return 'noted';
          },
        },
        { transactionRuntime: { timeout: 50 } },
      );
      expect(spy.calls).to.deep.equal(['process', 'exception']);
      expect(spy.times.exception).to.deep.equal([50]);
      const [error] = spy.errors as [TransactionError];
      expect(error).to.be.instanceOf(TransactionError);
      expect(error.category).to.equal('timeout');
      expect(error.stage).to.equal('process');
      expect(error.transactionId).to.equal('tx-1');
      expect(spy.signals.process?.[0]?.aborted).to.equal(true);
      expect(spy.signals.exception?.[0]?.aborted).to.equal(false);
      expect(run.times).to.deep.equal([50]);
      expect(only(run)).to.include({ status: 'timeout', handled: true, error });
      expect(connector.memory.counts).to.deep.equal({ ack: 1, deadLetter: 0, release: 0 });
    });

    it('without onException a timed-out transaction is dead-lettered (reference case 44)', () => {
      const { run, connector } = runTask(
        { process: () => NEVER },
        { transactionRuntime: { timeout: 50 } },
      );
      expect(only(run)).to.include({ status: 'timeout', handled: false });
      expect(run.times).to.deep.equal([50]);
      expect(connector.memory.counts).to.deep.equal({ ack: 0, deadLetter: 1, release: 0 });
    });

    it('the budget covers onSuccess too: expiry there aborts it, stage success', () => {
      const spy = new Spy();
      runTask(
        {
          process: (_tx, ctx) => {
            spy.hit('process', ctx.signal);
            return after(30, 1);
          },
          onSuccess: (_tx, _r, ctx) => {
            spy.hit('success', ctx.signal);
            return after(30, 'done');
          },
          onException: (_tx, error, ctx) => {
            spy.hit('exception', ctx.signal);
            spy.errors.push(error);
          },
        },
        { transactionRuntime: { timeout: 50 } },
      );
      expect(spy.calls).to.deep.equal(['process', 'success', 'exception']);
      expect(spy.times.exception).to.deep.equal([50]);
      expect(spy.errors[0]?.stage).to.equal('success');
      expect(spy.errors[0]?.category).to.equal('timeout');
      expect(spy.signals.success?.[0]?.aborted).to.equal(true);
      expect(spy.signals.process?.[0]?.aborted).to.equal(false);
    });

    it('the budget covers every process attempt and backoff: no attempt starts after it', () => {
      const spy = new Spy();
      const { run } = runTask(
        {
          process: (_tx, ctx) => {
            spy.hit('process', ctx.signal);
            return failAfter(10, new Error('flaky'));
          },
          onException: (_tx, error, ctx) => {
            spy.hit('exception', ctx.signal);
            spy.errors.push(error);
          },
        },
        {
          transactionRuntime: { timeout: 50 },
          process: { retry: { maxAttempts: 5, backoff: 20, backoffMultiplier: 1 } },
        },
      );
      // attempts at 0 and 30 (each fails 10 later, then 20 of backoff): the 3rd would start at 60.
      expect(spy.times.process).to.deep.equal([0, 30]);
      expect(spy.times.exception).to.deep.equal([50]);
      expect(spy.errors[0]?.category).to.equal('timeout');
      expect(only(run).status).to.equal('timeout');
    });

    it('work finished within the budget is not disturbed when the budget time passes', () => {
      const spy = new Spy();
      const { run } = runTask(
        {
          process: () => after(10, 'quick'),
          onException: (_tx, _e, ctx) => spy.hit('exception', ctx.signal),
        },
        { transactionRuntime: { timeout: 50 } },
      );
      expect(spy.calls).to.deep.equal([]);
      expect(only(run).status).to.equal('success');
      expect(run.times).to.deep.equal([10]);
    });

    it('onException runs outside the budget: a slow handler after a failure is not cut', () => {
      const { run } = runTask(
        {
          process: () => failAfter(10, new Error('fail')),
          onException: () => after(100, 'slowly handled'),
        },
        { transactionRuntime: { timeout: 50 } },
      );
      expect(run.times).to.deep.equal([110]);
      expect(only(run)).to.include({ status: 'exception', handled: 'slowly handled' });
    });

    it('the budget expiring while onException already runs does not invoke it again (reference case 45)', () => {
      const spy = new Spy();
      const { run } = runTask(
        {
          process: () => failAfter(40, new Error('fail')),
          onException: (_tx, error, ctx) => {
            spy.hit('exception', ctx.signal);
            spy.errors.push(error);
            return after(100, 'handled');
          },
        },
        { transactionRuntime: { timeout: 50 } },
      );
      expect(spy.count('exception')).to.equal(1);
      expect(spy.errors[0]?.category).to.equal('system');
      expect(spy.signals.exception?.[0]?.aborted).to.equal(false);
      expect(run.times).to.deep.equal([140]);
      expect(only(run).status).to.equal('exception');
    });

    it('... nor during its own retry backoff (reference case 45)', () => {
      const spy = new Spy();
      runTask(
        {
          process: () => failAfter(40, new Error('fail')),
          onException: (_tx, _error, ctx) => {
            spy.hit('exception', ctx.signal);
            return ctx.attempt === 1 ? failAfter(5, new Error('retry me')) : 'ok';
          },
        },
        {
          transactionRuntime: { timeout: 50 },
          exception: { retry: { maxAttempts: 2, backoff: 20 } },
        },
      );
      expect(spy.times.exception).to.deep.equal([40, 65]);
    });

    it('the last process attempt timing out gives status timeout, cause AttemptTimeoutError', () => {
      const spy = new Spy();
      const { run } = runTask(
        {
          process: (_tx, ctx) => {
            spy.hit('process', ctx.signal);
            return NEVER;
          },
          onException: (_tx, error) => {
            spy.errors.push(error);
          },
        },
        { process: { retry: { timeout: 10, maxAttempts: 2 } } },
      );
      expect(spy.times.process).to.deep.equal([0, 10]);
      expect(spy.errors).to.have.length(1);
      expect(spy.errors[0]?.category).to.equal('timeout');
      expect(spy.errors[0]?.cause).to.be.instanceOf(AttemptTimeoutError);
      expect(run.times).to.deep.equal([20]);
      expect(only(run)).to.include({ status: 'timeout', handled: true });
    });

    it('a timeout whose onException fails is dead-lettered with the handler error', () => {
      const { run, connector } = runTask(
        {
          process: () => NEVER,
          onException: () => {
            throw new Error('cannot handle');
          },
        },
        { transactionRuntime: { timeout: 50 } },
      );
      const outcome = only(run);
      expect(outcome).to.include({ status: 'timeout', handled: false });
      expect(outcome.status === 'timeout' && outcome.handlerError?.cause)
        .to.be.instanceOf(Error)
        .with.property('message', 'cannot handle');
      expect(connector.memory.counts.deadLetter).to.equal(1);
    });

    it('the default budget is 60 s', () => {
      const { run } = runTask({ process: () => after(60_001, 'too late') });
      expect(run.times).to.deep.equal([60_000]);
      expect(only(run).status).to.equal('timeout');
    });

    it('a null budget lets a long process finish', () => {
      const { run } = runTask(
        { process: () => after(100_000, 'fine') },
        { transactionRuntime: { timeout: null } },
      );
      expect(run.times).to.deep.equal([100_000]);
      expect(only(run).status).to.equal('success');
    });
  });

  describe('decode failures (markUndecodable)', () => {
    /** A connector that serves ready-made transactions, as a decoding connector would. */
    class ListConnector implements Connector<string> {
      readonly settled: string[] = [];
      constructor(private readonly queue: Transaction<string>[]) {}
      fetch(request: FetchRequest): Observable<Transaction<string>> {
        return defer(() => from(this.queue.splice(0, request.size)));
      }
      settle(transaction: Transaction<string>, decision: SettleDecision): void {
        this.settled.push(`${transaction.id}:${decision.type}`);
      }
    }

    function runUndecodable<R>(
      definition: Definition<R>,
      policy: ConsumerPolicyInput = {},
      decodeError: unknown = new SyntaxError('Unexpected token } in JSON'),
    ) {
      return inVirtualTime((_helpers, scheduler) => {
        const connector = new ListConnector([
          markUndecodable(createTransaction('{bad json', { id: 'line-1' }), decodeError),
          createTransaction('good', { id: 'line-2' }),
        ]);
        const run = record(consume(connector, consumerTask(definition), policy));
        scheduler.flush();
        return { run, connector };
      });
    }

    it('skips process and hands onException a business TransactionError (stage decode)', () => {
      const decodeError = new SyntaxError('bad json');
      const processed: string[] = [];
      const received: TransactionError[] = [];
      const { run, connector } = runUndecodable(
        {
          process: (tx) => {
            processed.push(tx.id);
            return 1;
          },
          onException: (_tx, error) => {
            received.push(error);
            return 'quarantined';
          },
        },
        {},
        decodeError,
      );
      expect(processed).to.deep.equal(['line-2']);
      expect(received).to.have.length(1);
      const [error] = received as [TransactionError];
      expect(error).to.include({ category: 'business', stage: 'decode', transactionId: 'line-1' });
      expect(error.cause).to.equal(decodeError);
      expect(run.values.map((o) => `${o.transaction.id}:${o.status}`)).to.deep.equal([
        'line-1:exception',
        'line-2:success',
      ]);
      expect(connector.settled).to.deep.equal(['line-1:ack', 'line-2:ack']);
      expect(run.completedAt).to.equal(0);
    });

    it('without onException an undecodable transaction is dead-lettered; the loop goes on', () => {
      const { run, connector } = runUndecodable({ process: () => 1 });
      expect(run.values.map((o) => o.status)).to.deep.equal(['failed', 'success']);
      const first = run.values[0];
      expect(first?.status === 'failed' && first.error.stage).to.equal('decode');
      expect(connector.settled).to.deep.equal(['line-1:deadLetter', 'line-2:ack']);
    });

    it('onException for a decode failure follows exception.retry', () => {
      let calls = 0;
      const { run } = runUndecodable(
        {
          process: () => 1,
          onException: () => {
            calls++;
            throw new Error('cannot quarantine');
          },
        },
        { exception: { retry: { maxAttempts: 2 } } },
      );
      expect(calls).to.equal(2);
      expect(run.values[0]?.status).to.equal('failed');
    });

    it('marking with an undefined error still marks the transaction', () => {
      const received: TransactionError[] = [];
      runUndecodable(
        {
          process: () => 1,
          onException: (_tx, error) => {
            received.push(error);
          },
        },
        {},
        undefined,
      );
      expect(received.map((e) => e.stage)).to.deep.equal(['decode']);
      expect(received[0]?.cause).to.be.instanceOf(Error);
    });

    it('a decode failure is not subject to the runtime budget', () => {
      const { run } = runUndecodable(
        { process: () => 1, onException: () => after(100, 'slow') },
        { transactionRuntime: { timeout: 50 } },
      );
      expect(run.values[0]?.status).to.equal('exception');
      expect(run.times[0]).to.equal(100);
    });
  });

  describe('settlement', () => {
    it('the outcome is emitted only after the settlement finished', () => {
      inVirtualTime((_helpers, scheduler) => {
        const connector = new TestConnector<string>({ source: ['a'], settleDelay: 10 });
        const run = record(consume(connector, consumerTask({ process: () => after(5, 1) })));
        let unsettledAtOutcome = -1;
        connector.onSettled = () => (unsettledAtOutcome = connector.unsettled);
        scheduler.flush();
        expect(connector.settles.map((s) => [s.at, s.finishedAt])).to.deep.equal([[5, 15]]);
        expect(run.times).to.deep.equal([15]);
        expect(unsettledAtOutcome).to.equal(0);
        expect(run.completedAt).to.equal(15);
      });
    });

    it('exactly one outcome and one settlement per transaction, whatever the status', () => {
      const { run, connector } = runTask(
        {
          process: (tx) => {
            if (tx.payload.startsWith('x')) throw new Error('x');
            if (tx.payload.startsWith('t')) return NEVER;
            return tx.payload;
          },
          onException: (tx) => {
            if (tx.payload === 'xx') throw new Error('unhandled');
          },
        },
        { loop: { concurrency: { value: 3 } }, transactionRuntime: { timeout: 20 } },
        ['a', 'x', 'xx', 't', 'b'],
      );
      expect(run.values.map((o) => `${o.transaction.payload}:${o.status}`).sort()).to.deep.equal([
        'a:success',
        'b:success',
        't:timeout',
        'x:exception',
        'xx:failed',
      ]);
      expect(settledExactlyOnce(connector)).to.equal(null);
      expect(connector.memory.counts).to.deep.equal({ ack: 4, deadLetter: 1, release: 0 });
    });

    it('a settle that throws is reported on the outcome and the loop carries on', () => {
      const memory = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        source: ['a', 'b'],
      });
      const settleError = new Error('broker gone');
      const connector = {
        fetch: memory.fetch.bind(memory),
        settle: (tx: Transaction<string>) => {
          if (tx.payload === 'a') throw settleError;
        },
      };
      const outcomes: Outcome<string, string>[] = [];
      let completed = false;
      consume(
        connector,
        consumerTask({ process: (tx: Transaction<string>) => tx.payload }),
      ).subscribe({
        next: (o) => outcomes.push(o),
        complete: () => (completed = true),
      });
      expect(completed).to.equal(true);
      expect(outcomes.map((o) => o.settleError)).to.deep.equal([settleError, undefined]);
      expect(outcomes.map((o) => o.status)).to.deep.equal(['success', 'success']);
    });

    it('a settle Promise that rejects is reported on the outcome (real time)', async () => {
      const memory = new MemoryConnector<string>({ record: true, idPrefix: 'tx-', source: ['a'] });
      const connector = {
        fetch: memory.fetch.bind(memory),
        settle: () => Promise.reject(new Error('nack failed')),
      };
      const outcomes = await lastValueFrom(
        consume(connector, consumerTask({ process: () => 1 })).pipe(toArray()),
      );
      expect(outcomes).to.have.length(1);
      expect(outcomes[0]?.settleError)
        .to.be.instanceOf(Error)
        .with.property('message', 'nack failed');
    });

    it('a connector without settle still gets one outcome per transaction', () => {
      const memory = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        source: ['a', 'b', 'c'],
      });
      const connector = { fetch: memory.fetch.bind(memory) };
      const outcomes: Outcome<string, number>[] = [];
      consume(connector, consumerTask({ process: () => 1 })).subscribe((o) => outcomes.push(o));
      expect(outcomes.map((o) => o.transaction.payload)).to.deep.equal(['a', 'b', 'c']);
    });
  });
});
