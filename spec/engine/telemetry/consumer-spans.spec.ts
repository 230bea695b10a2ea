import { expect } from 'chai';
import { SpanKind } from '@opentelemetry/api';
import { lastValueFrom, map, NEVER, throwError, timer, toArray, type Observable } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  type Connector,
  type ConsumerPolicyInput,
  type FetchRequest,
  type Outcome,
  type Transaction,
} from '../../../lib/index.js';
import { after as emitAfter } from '../support/handlers.js';
import { inVirtualTime, record } from '../support/virtual-time.js';
import {
  attribute,
  childrenOf,
  exceptions,
  installOtel,
  isError,
  linkedSpanIds,
  named,
  parentId,
  renderTree,
  single,
  spanId,
  startedNoLaterThan,
  traceId,
  transactionSpan,
  type InstalledOtel,
} from './support/otel.js';

const statuses = (outcomes: readonly Outcome[]): string[] =>
  outcomes.map((outcome) =>
    outcome.status === 'released' ? `released:${outcome.reason}` : outcome.status,
  );

/** A memory connector that names its messaging system and queue, and can fail fetches. */
function namedConnector(
  source: string[],
  failFetch: (call: number) => boolean = () => false,
): Connector<string> & { readonly memory: MemoryConnector<string> } {
  const memory = new MemoryConnector<string>({ record: true, idPrefix: 'tx-', source });
  let calls = 0;
  return {
    memory,
    system: 'memory',
    destination: 'orders-queue',
    fetch: (request: FetchRequest): Observable<Transaction<string>> =>
      failFetch(++calls)
        ? throwError(() => new RangeError(`broker down (call ${calls})`))
        : memory.fetch(request),
    settle: (transaction, decision) => memory.settle(transaction, decision),
  };
}

describe('engine telemetry: consumer span tree', () => {
  let otel: InstalledOtel;

  beforeEach(() => {
    otel = installOtel();
  });

  afterEach(async () => {
    await otel.release();
  });

  /** Every started span was ended, none twice, and nothing was changed after its end. */
  const expectEverySpanEndedOnce = (): void => {
    expect(otel.ledger.unended(), 'spans never ended').to.deep.equal([]);
    expect(otel.ledger.endedTwice(), 'spans ended twice').to.deep.equal([]);
    expect(otel.diagnostics.spanMisuse(), 'OpenTelemetry diag complaints').to.deep.equal([]);
  };

  describe('a transaction that fails twice and then succeeds (process.retry maxAttempts 3)', () => {
    const runRetries = (): Outcome[] => {
      const task = consumerTask({
        name: 'orders',
        process: (tx: Transaction<string>, ctx) => {
          if (tx.payload === 'b' && ctx.attempt < 3) {
            throw new TypeError(`card declined (attempt ${ctx.attempt})`);
          }
          return emitAfter(5, tx.payload.toUpperCase());
        },
      });
      const connector = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        source: ['a', 'b', 'c'],
      });
      const policy: ConsumerPolicyInput = {
        loop: { mode: 'batch', concurrency: { value: 3 } },
        fetch: { batch: { size: 3 } },
        process: { retry: { maxAttempts: 3, backoff: 10 } },
      };
      return inVirtualTime((_helpers, scheduler) => {
        const run = record(consume(connector, task, policy));
        scheduler.flush();
        expect(run.completedAt).to.be.a('number');
        return run.values;
      });
    };

    it('has exactly this span tree: run; batch → fetch attempt, transactions → attempts', () => {
      const outcomes = runRetries();
      expect(statuses(outcomes)).to.deep.equal(['success', 'success', 'success']);
      expect(renderTree(otel.spans())).to.deep.equal([
        'batch orders',
        '  fetch attempt #1',
        '  process orders tx-1 =success',
        '    process attempt #1',
        '  process orders tx-2 =success',
        '    process attempt #1 ERROR',
        '    process attempt #2 ERROR',
        '    process attempt #3',
        '  process orders tx-3 =success',
        '    process attempt #1',
        'consume orders',
      ]);
      expectEverySpanEndedOnce();
    });

    it('gives the failed attempts ERROR status, the exception and error.type; the last one OK', () => {
      runRetries();
      const spans = otel.spans();
      const transaction = transactionSpan(spans, 'orders', 'tx-2');
      const attempts = childrenOf(spans, transaction).sort(
        (a, b) => Number(attribute(a, 'ergon.attempt')) - Number(attribute(b, 'ergon.attempt')),
      );
      expect(attempts.map((span) => span.name)).to.deep.equal([
        'process attempt',
        'process attempt',
        'process attempt',
      ]);
      expect(attempts.map((span) => attribute(span, 'ergon.attempt'))).to.deep.equal([1, 2, 3]);
      expect(attempts.map((span) => attribute(span, 'ergon.stage'))).to.deep.equal([
        'process',
        'process',
        'process',
      ]);
      expect(attempts.map(isError)).to.deep.equal([true, true, false]);
      expect(attempts.map(exceptions)).to.deep.equal([
        ['TypeError: card declined (attempt 1)'],
        ['TypeError: card declined (attempt 2)'],
        [],
      ]);
      expect(attempts.map((span) => attribute(span, 'error.type'))).to.deep.equal([
        'TypeError',
        'TypeError',
        undefined,
      ]);
      expect(attempts.map((span) => span.kind)).to.deep.equal([
        SpanKind.INTERNAL,
        SpanKind.INTERNAL,
        SpanKind.INTERNAL,
      ]);
    });

    it('puts the transaction span under the batch span, with the messaging attributes', () => {
      runRetries();
      const spans = otel.spans();
      const batch = single(spans, 'batch orders');
      const transaction = transactionSpan(spans, 'orders', 'tx-2');
      expect(transaction.kind).to.equal(SpanKind.CONSUMER);
      expect(parentId(transaction)).to.equal(spanId(batch));
      expect(transaction.attributes).to.deep.include({
        'ergon.task.name': 'orders',
        'ergon.transaction.id': 'tx-2',
        'messaging.message.id': 'tx-2',
        'messaging.system': 'memory',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'ergon.outcome': 'success',
      });
      expect(isError(transaction), 'a transaction that succeeded in the end').to.equal(false);
      expect(exceptions(transaction)).to.deep.equal([]);
      // Everything but the run span is in the batch's trace.
      const runSpan = single(spans, 'consume orders');
      for (const span of spans.filter((s) => s !== runSpan)) {
        expect(traceId(span), span.name).to.equal(traceId(batch));
      }
    });

    it('gives the batch span a new trace linked to the run span, and its message count', () => {
      runRetries();
      const spans = otel.spans();
      const runSpan = single(spans, 'consume orders');
      const batch = single(spans, 'batch orders');
      expect(runSpan.kind).to.equal(SpanKind.INTERNAL);
      expect(parentId(runSpan)).to.equal(undefined);
      expect(runSpan.attributes).to.deep.include({
        'ergon.task.name': 'orders',
        'messaging.system': 'memory',
      });
      expect(batch.kind).to.equal(SpanKind.CONSUMER);
      expect(parentId(batch)).to.equal(undefined);
      expect(traceId(batch)).not.to.equal(traceId(runSpan));
      expect(linkedSpanIds(batch)).to.deep.equal([spanId(runSpan)]);
      expect(batch.attributes).to.deep.include({
        'messaging.batch.message_count': 3,
        'messaging.operation.type': 'process',
      });
      // The run span covers the whole run.
      expect(startedNoLaterThan(runSpan, batch)).to.equal(true);
    });
  });

  it('onSuccess failing, handled by onException: success and exception attempt spans, outcome exception', () => {
    const task = consumerTask({
      name: 'orders',
      process: (tx: Transaction<string>) => tx.payload,
      onSuccess: () => {
        throw new SyntaxError('receipt rejected');
      },
      onException: () => 'compensated',
    });
    const connector = new MemoryConnector<string>({ record: true, idPrefix: 'tx-', source: ['a'] });
    inVirtualTime((_helpers, scheduler) => {
      const run = record(consume(connector, task));
      scheduler.flush();
      expect(statuses(run.values)).to.deep.equal(['exception']);
    });
    const spans = otel.spans();
    expect(renderTree(spans)).to.deep.equal([
      'batch orders',
      '  fetch attempt #1',
      '  process orders tx-1 =exception',
      '    exception attempt #1',
      '    process attempt #1',
      '    success attempt #1 ERROR',
      'consume orders',
    ]);
    const transaction = transactionSpan(spans, 'orders', 'tx-1');
    // Failed but handled: no ERROR status, but the error type is there.
    expect(attribute(transaction, 'error.type')).to.equal('SyntaxError');
    expect(exceptions(single(spans, 'success attempt'))).to.deep.equal([
      'SyntaxError: receipt rejected',
    ]);
    expect(single(spans, 'success attempt').attributes['ergon.stage']).to.equal('success');
    expectEverySpanEndedOnce();
  });

  describe('fetch attempt spans', () => {
    it('exist only for fetches that returned transactions or failed (CLIENT, retroactive start)', () => {
      const connector = namedConnector(['a', 'b'], (call) => call === 1);
      const task = consumerTask({
        name: 'orders',
        process: (tx: Transaction<string>) => tx.payload,
      });
      inVirtualTime((_helpers, scheduler) => {
        const run = record(
          consume(connector, task, {
            loop: { mode: 'batch', concurrency: { value: 2 } },
            fetch: { retry: { maxAttempts: 2, backoff: 5 } },
          }),
        );
        scheduler.flush();
        expect(statuses(run.values)).to.deep.equal(['success', 'success']);
      });
      const spans = otel.spans();
      const runSpan = single(spans, 'consume orders');
      const batch = single(spans, 'batch orders');
      const fetches = named(spans, 'fetch attempt').sort(
        (a, b) => Number(attribute(a, 'ergon.attempt')) - Number(attribute(b, 'ergon.attempt')),
      );
      // attempt 1 failed, attempt 2 returned 2 transactions, the closing empty fetch has none.
      expect(fetches).to.have.length(2);
      const [failed, fetched] = fetches as [(typeof fetches)[0], (typeof fetches)[0]];
      expect(failed.kind).to.equal(SpanKind.CLIENT);
      expect(isError(failed)).to.equal(true);
      expect(exceptions(failed)).to.deep.equal(['RangeError: broker down (call 1)']);
      expect(failed.attributes).to.deep.include({
        'ergon.attempt': 1,
        'ergon.stage': 'fetch',
        'error.type': 'RangeError',
        'messaging.operation.type': 'receive',
        'messaging.system': 'memory',
        'messaging.destination.name': 'orders-queue',
      });
      expect(parentId(failed), 'a failed fetch hangs under the run span').to.equal(spanId(runSpan));
      expect(fetched.kind).to.equal(SpanKind.CLIENT);
      expect(isError(fetched)).to.equal(false);
      expect(fetched.attributes).to.deep.include({
        'ergon.attempt': 2,
        'messaging.batch.message_count': 2,
      });
      expect(parentId(fetched)).to.equal(spanId(batch));
      expect(traceId(fetched)).to.equal(traceId(batch));
      // Made after the fact, it starts when the fetch started: before its batch span.
      expect(startedNoLaterThan(fetched, batch)).to.equal(true);
      expect(runSpan.attributes).to.deep.include({
        'messaging.system': 'memory',
        'messaging.destination.name': 'orders-queue',
      });
      expectEverySpanEndedOnce();
    });

    it('makes no span for the empty polls of a streaming loop', () => {
      const connector = namedConnector(['a']);
      const task = consumerTask({
        name: 'orders',
        process: (tx: Transaction<string>) => tx.payload,
      });
      inVirtualTime((_helpers, scheduler) => {
        record(
          consume(
            connector,
            task,
            {
              loop: { mode: 'continuous', streaming: true },
              fetch: { empty: { backoff: 10, backoffMultiplier: 1 } },
            },
            { stop$: timer(200) },
          ),
        );
        scheduler.flush();
        expect(connector.memory.counts.ack).to.equal(1);
      });
      expect(named(otel.spans(), 'fetch attempt')).to.have.length(1);
      expectEverySpanEndedOnce();
    });
  });

  describe('the parent of a queued transaction (concurrency 1, real timers)', () => {
    const slowTask = consumerTask({
      name: 'queue',
      process: (tx: Transaction<string>) => timer(2).pipe(map(() => tx.payload)),
    });

    it('batch mode: every transaction span is a child of the batch span, never of a sibling', async () => {
      const connector = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        source: ['a', 'b', 'c', 'd'],
      });
      const outcomes = await lastValueFrom(
        consume(connector, slowTask, {
          loop: { mode: 'batch', concurrency: { value: 1 } },
          fetch: { batch: { size: 4 } },
        }).pipe(toArray()),
      );
      expect(statuses(outcomes)).to.deep.equal(['success', 'success', 'success', 'success']);
      const spans = otel.spans();
      const batch = single(spans, 'batch queue');
      const transactions = named(spans, 'process queue');
      expect(transactions).to.have.length(4);
      for (const span of transactions) {
        expect(parentId(span), String(attribute(span, 'ergon.transaction.id'))).to.equal(
          spanId(batch),
        );
        expect(traceId(span)).to.equal(traceId(batch));
      }
      expect(batch.attributes['messaging.batch.message_count']).to.equal(4);
      expectEverySpanEndedOnce();
    });

    it('continuous mode: every transaction span is the root of its own trace, linked to the run', async () => {
      const connector = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        source: ['a', 'b', 'c'],
      });
      await lastValueFrom(
        consume(connector, slowTask, {
          loop: { mode: 'continuous', concurrency: { value: 1 } },
        }).pipe(toArray()),
      );
      const spans = otel.spans();
      const runSpan = single(spans, 'consume queue');
      expect(named(spans, 'batch queue')).to.deep.equal([]);
      const transactions = named(spans, 'process queue');
      expect(transactions).to.have.length(3);
      const traces = new Set(transactions.map(traceId));
      expect(traces.size, 'one trace per transaction').to.equal(3);
      expect(traces.has(traceId(runSpan))).to.equal(false);
      for (const span of transactions) {
        expect(parentId(span), String(attribute(span, 'ergon.transaction.id'))).to.equal(undefined);
        expect(linkedSpanIds(span)).to.deep.equal([spanId(runSpan)]);
      }
      expectEverySpanEndedOnce();
    });
  });

  describe('a transaction that runs out of time', () => {
    it('runtime budget, handled by onException: outcome timeout, ERROR, cancelled attempt ended', () => {
      const task = consumerTask({
        name: 'slow',
        process: (): Observable<never> => NEVER,
        onException: () => 'noted',
      });
      const connector = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        source: ['a'],
      });
      inVirtualTime((_helpers, scheduler) => {
        const run = record(consume(connector, task, { transactionRuntime: { timeout: 50 } }));
        scheduler.flush();
        expect(statuses(run.values)).to.deep.equal(['timeout']);
      });
      const spans = otel.spans();
      expect(renderTree(spans)).to.deep.equal([
        'batch slow',
        '  fetch attempt #1',
        '  process slow tx-1 =timeout ERROR',
        '    exception attempt #1',
        '    process attempt #1 ERROR',
        'consume slow',
      ]);
      const transaction = transactionSpan(spans, 'slow', 'tx-1');
      expect(attribute(transaction, 'error.type')).to.equal('TransactionError');
      expect(exceptions(transaction)).to.have.length(1);
      expect(exceptions(transaction)[0]).to.match(/^TransactionError: .*runtime budget of 50 ms/);
      const processAttempt = single(spans, 'process attempt');
      expect(exceptions(processAttempt)).to.have.length(1);
      expect(exceptions(processAttempt)[0]).to.match(/runtime budget/);
      const exceptionAttempt = single(spans, 'exception attempt');
      expect(exceptionAttempt.attributes).to.deep.include({
        'ergon.stage': 'exception',
        'ergon.attempt': 1,
      });
      expect(isError(exceptionAttempt)).to.equal(false);
      expect(parentId(exceptionAttempt)).to.equal(spanId(transaction));
      expectEverySpanEndedOnce();
    });

    it('runtime budget without onException: outcome timeout, ERROR, the attempt ended once', () => {
      const task = consumerTask({ name: 'slow', process: (): Observable<never> => NEVER });
      const connector = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        source: ['a', 'b'],
      });
      inVirtualTime((_helpers, scheduler) => {
        const run = record(
          consume(connector, task, {
            loop: { concurrency: { value: 2 } },
            transactionRuntime: { timeout: 30 },
          }),
        );
        scheduler.flush();
        expect(statuses(run.values)).to.deep.equal(['timeout', 'timeout']);
      });
      expect(renderTree(otel.spans())).to.deep.equal([
        'batch slow',
        '  fetch attempt #1',
        '  process slow tx-1 =timeout ERROR',
        '    process attempt #1 ERROR',
        '  process slow tx-2 =timeout ERROR',
        '    process attempt #1 ERROR',
        'consume slow',
      ]);
      expectEverySpanEndedOnce();
    });

    it('attempt timeouts (process.retry.timeout): each timed-out attempt is an ERROR span', () => {
      const task = consumerTask({ name: 'slow', process: (): Observable<never> => NEVER });
      const connector = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        source: ['a'],
      });
      inVirtualTime((_helpers, scheduler) => {
        const run = record(
          consume(connector, task, {
            process: { retry: { maxAttempts: 2, timeout: 20 } },
            transactionRuntime: { timeout: null },
          }),
        );
        scheduler.flush();
        expect(statuses(run.values)).to.deep.equal(['timeout']);
      });
      const spans = otel.spans();
      expect(renderTree(spans)).to.deep.equal([
        'batch slow',
        '  fetch attempt #1',
        '  process slow tx-1 =timeout ERROR',
        '    process attempt #1 ERROR',
        '    process attempt #2 ERROR',
        'consume slow',
      ]);
      for (const attemptSpan of named(spans, 'process attempt')) {
        expect(attribute(attemptSpan, 'error.type')).to.equal('AttemptTimeoutError');
      }
      expectEverySpanEndedOnce();
    });
  });

  describe('a released transaction', () => {
    it('graceful stop past the grace period: outcome released (shutdown), attempt span ended', () => {
      const task = consumerTask({ name: 'stuck', process: (): Observable<never> => NEVER });
      const connector = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        source: ['a', 'b', 'c', 'd'],
      });
      inVirtualTime((_helpers, scheduler) => {
        const run = record(
          consume(
            connector,
            task,
            {
              loop: { mode: 'batch', concurrency: { value: 2 }, shutdownGrace: 20 },
              fetch: { batch: { size: 4 } },
            },
            { stop$: timer(10) },
          ),
        );
        scheduler.flush();
        expect(statuses(run.values).sort()).to.deep.equal([
          'released:shutdown',
          'released:shutdown',
          'released:shutdown',
          'released:shutdown',
        ]);
        expect(run.completedAt).to.equal(30);
      });
      const spans = otel.spans();
      for (const id of ['tx-1', 'tx-2']) {
        const transaction = transactionSpan(spans, 'stuck', id);
        expect(transaction.attributes).to.deep.include({
          'ergon.outcome': 'released',
          'ergon.release.reason': 'shutdown',
        });
        expect(isError(transaction), 'released is not a failure').to.equal(false);
        const attempts = childrenOf(spans, transaction);
        expect(attempts.map((span) => span.name)).to.deep.equal(['process attempt']);
      }
      expect(single(spans, 'batch stuck').attributes['messaging.batch.message_count']).to.equal(4);
      single(spans, 'consume stuck');
      expectEverySpanEndedOnce();
    });

    it('unsubscribe: outcome released (unsubscribe), every span of the run ended', () => {
      const task = consumerTask({ name: 'stuck', process: (): Observable<never> => NEVER });
      const connector = new MemoryConnector<string>({
        record: true,
        idPrefix: 'tx-',
        source: ['a', 'b'],
      });
      inVirtualTime((_helpers, scheduler) => {
        const run = record(consume(connector, task, { loop: { concurrency: { value: 2 } } }));
        scheduler.schedule(() => run.subscription.unsubscribe(), 15);
        scheduler.flush();
        expect(run.values).to.deep.equal([]);
      });
      const spans = otel.spans();
      const batch = single(spans, 'batch stuck');
      single(spans, 'consume stuck');
      for (const id of ['tx-1', 'tx-2']) {
        const transaction = transactionSpan(spans, 'stuck', id);
        expect(parentId(transaction)).to.equal(spanId(batch));
        expect(transaction.attributes).to.deep.include({
          'ergon.outcome': 'released',
          'ergon.release.reason': 'unsubscribe',
        });
        expect(isError(transaction), 'released is not a failure').to.equal(false);
        const attempts = childrenOf(spans, transaction);
        expect(attempts.map((span) => span.name)).to.deep.equal(['process attempt']);
      }
      expect(connector.counts.release).to.equal(2);
      expectEverySpanEndedOnce();
    });
  });
});
