import { expect } from 'chai';
import sinon from 'sinon';
import { context, propagation, trace } from '@opentelemetry/api';
import { from, map, timer } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  produce,
  producerTask,
  type Outcome,
  type Transaction,
} from '../../../lib/index.js';
import { inVirtualTime, record } from '../support/virtual-time.js';
import { installOtel, type InstalledOtel } from './support/otel.js';

/** What a run looked like from outside: each outcome with its (virtual) time. */
function runConsumer(
  count: number,
  activeSpans?: unknown[],
  during?: (schedule: (work: () => void, at: number) => void) => void,
): string[] {
  const task = consumerTask({
    name: 'plain',
    process: (tx: Transaction<number>, ctx) => {
      activeSpans?.push(trace.getActiveSpan());
      if (tx.payload % 3 === 0 && ctx.attempt === 1) throw new Error('retry');
      return timer(10).pipe(map(() => tx.payload * 2));
    },
  });
  const connector = new MemoryConnector<number>({
    record: true,
    idPrefix: 'tx-',
    source: Array.from({ length: count }, (_, i) => i + 1),
  });
  return inVirtualTime((_helpers, scheduler) => {
    during?.((work, at) => scheduler.schedule(work, at));
    const run = record(
      consume(connector, task, {
        loop: { mode: 'batch', concurrency: { value: 2 } },
        fetch: { batch: { size: 3 } },
        process: { retry: { maxAttempts: 2, backoff: 5 } },
      }),
    );
    scheduler.flush();
    expect(run.completedAt).to.be.a('number');
    return run.values.map(
      (outcome: Outcome, index) =>
        `${outcome.transaction.id}:${outcome.status}@${run.times[index]}`,
    );
  });
}

describe('engine telemetry: with no OpenTelemetry SDK registered', () => {
  let otel: InstalledOtel | undefined;

  afterEach(async () => {
    sinon.restore();
    await otel?.release();
    otel = undefined;
  });

  after(async () => {
    // Belt and braces: nothing of this file stays registered.
    await otel?.release();
  });

  it('enters no context and extracts nothing per transaction (a constant cost per run)', () => {
    const calls = (): number =>
      withSpy.callCount + activeSpy.callCount + extractSpy.callCount + injectSpy.callCount;
    const withSpy = sinon.spy(context, 'with');
    const activeSpy = sinon.spy(context, 'active');
    const extractSpy = sinon.spy(propagation, 'extract');
    const injectSpy = sinon.spy(propagation, 'inject');
    runConsumer(1);
    const forOne = calls();
    sinon.resetHistory();
    runConsumer(30);
    const forThirty = calls();
    expect(forThirty, 'context/propagation calls for 30 transactions vs 1').to.equal(forOne);
    expect(forOne).to.be.below(5);
  });

  it('sees no active span in handlers', () => {
    const active: unknown[] = [];
    runConsumer(4, active);
    expect(active).to.have.length(5);
    expect(active.every((span) => span === undefined)).to.equal(true);
  });

  it('runs exactly as it does with a full SDK registered', async () => {
    const without = runConsumer(7);
    otel = installOtel();
    const withSdk = runConsumer(7);
    expect(withSdk).to.deep.equal(without);
    expect(otel.spans().length, 'the SDK run was traced').to.be.greaterThan(0);
  });

  it('an SDK registered after the run started gets no spans, metrics or contexts from that run', async () => {
    const active: unknown[] = [];
    const baseline = runConsumer(6);
    const outcomes = runConsumer(6, active, (schedule) =>
      schedule(() => {
        otel = installOtel();
      }, 15),
    );
    expect(otel, 'registered mid-run').not.to.equal(undefined);
    const installed = otel as InstalledOtel;
    expect(outcomes).to.deep.equal(baseline);
    expect(installed.spans().map((span) => span.name)).to.deep.equal([]);
    expect(installed.ledger.startedCount).to.equal(0);
    expect(active.every((span) => span === undefined)).to.equal(true);
    const metrics = await installed.reader.ergonMetrics();
    expect(metrics.attributeSets()).to.deep.equal([]);

    // Not a vacuous pass: the next run sees the SDK.
    runConsumer(1);
    expect(installed.spans().map((span) => span.name)).to.include('consume plain');
    expect((await installed.reader.ergonMetrics()).sum('consumer.transactions.total')).to.equal(1);
  });

  it('produce: an SDK registered mid-run gets nothing from that run either', async () => {
    const target = new MemoryConnector<number>({ record: true, idPrefix: 'tx-' });
    const task = producerTask({
      name: 'feeder',
      prepare: (tx: Transaction<number>) => timer(10).pipe(map(() => tx.payload + 1)),
    });
    inVirtualTime((_helpers, scheduler) => {
      scheduler.schedule(() => {
        otel = installOtel();
      }, 15);
      const run = record(
        from([1, 2, 3, 4]).pipe(
          produce(target, task, { loop: { batch: { size: 2, maxWait: 5 } } }),
        ),
      );
      scheduler.flush();
      expect(run.values.map((outcome) => outcome.status)).to.deep.equal([
        'success',
        'success',
        'success',
        'success',
      ]);
    });
    const installed = otel as InstalledOtel;
    expect(installed.spans().map((span) => span.name)).to.deep.equal([]);
    expect(target.dispatched).to.have.length(4);
    // Nothing to propagate: the queued messages carry no trace context.
    const queued: Transaction<number>[] = [];
    target.fetch({ size: 10, extra: {} }).subscribe((tx) => queued.push(tx));
    expect(queued.map((tx) => tx.metadata['traceparent'])).to.deep.equal([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
