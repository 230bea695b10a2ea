import { expect } from 'chai';
import fc from 'fast-check';
import { trace } from '@opentelemetry/api';
import { NEVER } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  type ConsumerPolicyInput,
  type Transaction,
} from '../../../lib/index.js';
import {
  setAttemptSpans,
  type AttemptSpans,
} from '../../../lib/engine/internal/instrumentation/run-telemetry.js';
import { after as emitAfter } from '../support/handlers.js';
import { inVirtualTime, record } from '../support/virtual-time.js';
import {
  attribute,
  childrenOf,
  exceptions,
  installOtel,
  isError,
  named,
  parentId,
  renderTree,
  spanId,
  startedNoLaterThan,
  transactionSpan,
  type InstalledOtel,
} from './support/otel.js';

/**
 * `traces.attemptSpans: 'onFailure'`: a stage's first attempt runs under the transaction span
 * and gets its span afterwards only when it did not succeed; retries get theirs up front.
 */
describe("engine telemetry: attempt spans 'onFailure'", () => {
  let otel: InstalledOtel;
  let previous: AttemptSpans;

  beforeEach(() => {
    otel = installOtel();
    previous = setAttemptSpans('onFailure');
  });

  afterEach(async () => {
    setAttemptSpans(previous);
    await otel.release();
  });

  const expectEverySpanEndedOnce = (): void => {
    expect(otel.ledger.unended(), 'spans never ended').to.deep.equal([]);
    expect(otel.ledger.endedTwice(), 'spans ended twice').to.deep.equal([]);
    expect(otel.diagnostics.spanMisuse(), 'OpenTelemetry diag complaints').to.deep.equal([]);
  };

  /**
   * Runs a, b, c (b fails its first two attempts) at maxAttempts 3; records, per transaction
   * and attempt, the span active in the handler.
   */
  const runRetries = (activeSpans: Map<string, string | undefined>): void => {
    const task = consumerTask({
      name: 'orders',
      process: (tx: Transaction<string>, ctx) => {
        activeSpans.set(`${tx.id}#${ctx.attempt}`, trace.getActiveSpan()?.spanContext().spanId);
        if (tx.payload === 'b' && ctx.attempt < 3) {
          throw new TypeError(`card declined (attempt ${ctx.attempt})`);
        }
        return emitAfter(5, tx.payload.toUpperCase());
      },
    });
    const connector = new MemoryConnector<string>({ idPrefix: 'tx-', source: ['a', 'b', 'c'] });
    const policy: ConsumerPolicyInput = {
      loop: { mode: 'batch', concurrency: { value: 3 } },
      fetch: { batch: { size: 3 } },
      process: { retry: { maxAttempts: 3, backoff: 10 } },
    };
    inVirtualTime((_helpers, scheduler) => {
      const run = record(consume(connector, task, policy));
      scheduler.flush();
      expect(run.completedAt).to.be.a('number');
    });
  };

  it('a first attempt that succeeds has no span; failed ones are recorded, retries have theirs', () => {
    runRetries(new Map());
    expect(renderTree(otel.spans())).to.deep.equal([
      'batch orders',
      '  fetch attempt #1',
      '  process orders tx-1 =success',
      '  process orders tx-2 =success',
      '    process attempt #1 ERROR',
      '    process attempt #2 ERROR',
      '    process attempt #3',
      '  process orders tx-3 =success',
      'consume orders',
    ]);
    expectEverySpanEndedOnce();
  });

  it('the recorded first attempt has the exception and starts before the retry', () => {
    runRetries(new Map());
    const spans = otel.spans();
    const attempts = childrenOf(spans, transactionSpan(spans, 'orders', 'tx-2')).sort(
      (a, b) => Number(attribute(a, 'ergon.attempt')) - Number(attribute(b, 'ergon.attempt')),
    );
    expect(attempts.map((span) => attribute(span, 'ergon.attempt'))).to.deep.equal([1, 2, 3]);
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
    const [first, second] = attempts;
    if (first === undefined || second === undefined) throw new Error('attempt spans missing');
    expect(startedNoLaterThan(first, second)).to.equal(true);
  });

  it("a first attempt's handler runs in the transaction span; a retry in its attempt span", () => {
    const active = new Map<string, string | undefined>();
    runRetries(active);
    const spans = otel.spans();
    const tx1 = transactionSpan(spans, 'orders', 'tx-1');
    const tx2 = transactionSpan(spans, 'orders', 'tx-2');
    const retries = childrenOf(spans, tx2).filter((span) => attribute(span, 'ergon.attempt') !== 1);
    expect(active.get('tx-1#1')).to.equal(spanId(tx1));
    expect(active.get('tx-2#1')).to.equal(spanId(tx2));
    expect(new Set([active.get('tx-2#2'), active.get('tx-2#3')])).to.deep.equal(
      new Set(retries.map(spanId)),
    );
  });

  it('a first attempt that times out is recorded as an ERROR span with the timeout', () => {
    const task = consumerTask({
      name: 'slow',
      process: (_tx: Transaction<string>, ctx) => (ctx.attempt === 1 ? NEVER : emitAfter(1, 'ok')),
    });
    const connector = new MemoryConnector<string>({ idPrefix: 'tx-', source: ['a'] });
    inVirtualTime((_helpers, scheduler) => {
      const run = record(
        consume(connector, task, { process: { retry: { maxAttempts: 2, timeout: 20 } } }),
      );
      scheduler.flush();
      expect(run.completedAt).to.be.a('number');
    });
    const spans = otel.spans();
    const attempts = childrenOf(spans, transactionSpan(spans, 'slow', 'tx-1'));
    const first = attempts.find((span) => attribute(span, 'ergon.attempt') === 1);
    expect(attempts).to.have.length(2);
    expect(first !== undefined && isError(first)).to.equal(true);
    expect(first === undefined ? undefined : attribute(first, 'error.type')).to.equal(
      'AttemptTimeoutError',
    );
    expectEverySpanEndedOnce();
  });

  it('a first attempt cancelled by unsubscribing is recorded with ergon.cancelled', () => {
    const task = consumerTask({ name: 'stuck', process: () => NEVER });
    const connector = new MemoryConnector<string>({ idPrefix: 'tx-', source: ['a'] });
    inVirtualTime((_helpers, scheduler) => {
      const run = record(consume(connector, task, {}));
      scheduler.schedule(() => run.subscription.unsubscribe(), 5);
      scheduler.flush();
    });
    const [attempt, ...others] = named(otel.spans(), 'process attempt');
    expect(others).to.deep.equal([]);
    expect(attempt === undefined ? undefined : attribute(attempt, 'ergon.cancelled')).to.equal(
      'unsubscribe',
    );
    expect(attempt === undefined ? undefined : parentId(attempt)).to.equal(
      spanId(transactionSpan(otel.spans(), 'stuck', 'tx-1')),
    );
    expectEverySpanEndedOnce();
  });

  it('property: attempt spans are the attempts, less a first one that succeeded (always: all of them)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom<AttemptSpans>('always', 'onFailure'),
        (failures, maxAttempts, rule) => {
          setAttemptSpans(rule);
          otel.exporter.reset();
          const payloads = failures.map((_count, index) => index);
          const task = consumerTask({
            name: 'prop',
            process: (tx: Transaction<number>, ctx) => {
              if (ctx.attempt <= (failures[tx.payload] ?? 0)) throw new Error('no');
              return emitAfter(1, 'ok');
            },
          });
          const connector = new MemoryConnector<number>({ idPrefix: 'tx-', source: payloads });
          inVirtualTime((_helpers, scheduler) => {
            const run = record(
              consume(connector, task, { process: { retry: { maxAttempts, backoff: 2 } } }),
            );
            scheduler.flush();
            expect(run.completedAt).to.be.a('number');
          });
          const spans = otel.spans();
          for (const [index, failed] of failures.entries()) {
            const attempts = Math.min(failed + 1, maxAttempts);
            const firstSucceeded = failed === 0;
            const expected = rule === 'onFailure' && firstSucceeded ? 0 : attempts;
            const children = childrenOf(spans, transactionSpan(spans, 'prop', `tx-${index + 1}`));
            expect(children, `tx-${index + 1}`).to.have.length(expected);
            expect(children.filter(isError)).to.have.length(Math.min(failed, maxAttempts));
          }
          expectEverySpanEndedOnce();
        },
      ),
      { numRuns: 40 },
    );
  });
});
