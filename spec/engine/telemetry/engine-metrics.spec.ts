import { expect } from 'chai';
import { lastValueFrom, throwError, timer, toArray, type Observable } from 'rxjs';
import {
  consume,
  consumerTask,
  FetchError,
  MemoryConnector,
  type Connector,
  type FetchRequest,
  type Transaction,
} from '../../../lib/index.js';
import type { SumMetricData } from '@opentelemetry/sdk-metrics';
import { after as emitAfter } from '../support/handlers.js';
import { inVirtualTime, record } from '../support/virtual-time.js';
import { installOtel, type InstalledOtel, type MetricSnapshot } from './support/otel.js';

/** A memory connector reporting `messaging.system` `memory`; fetch call `failing` errors. */
function memoryQueue(
  source: string[],
  failing: (call: number) => boolean = () => false,
): Connector<string> & { readonly memory: MemoryConnector<string> } {
  const memory = new MemoryConnector<string>({ source });
  let calls = 0;
  return {
    memory,
    system: 'memory',
    fetch: (request: FetchRequest): Observable<Transaction<string>> =>
      failing(++calls) ? throwError(() => new Error('broker down')) : memory.fetch(request),
    settle: (transaction, decision) => memory.settle(transaction, decision),
  };
}

const payloads = Array.from({ length: 10 }, (_, i) => `p${i + 1}`);
const allowedKeys = ['task', 'connector', 'status', 'stage', 'outcome', 'success'];

describe('engine telemetry: metrics (meter ergon.task)', () => {
  let otel: InstalledOtel;

  beforeEach(() => {
    otel = installOtel({ tracing: false, contexts: false });
  });

  afterEach(async () => {
    await otel.release();
  });

  describe('after a known run: 10 transactions, 2 failures handled, 1 not', () => {
    let metrics: MetricSnapshot;
    const base = { task: 'metered', connector: 'memory' };

    beforeEach(async () => {
      const task = consumerTask({
        name: 'metered',
        process: (tx: Transaction<string>) => {
          if (['p3', 'p6', 'p9'].includes(tx.payload)) throw new Error(`no ${tx.payload}`);
          return emitAfter(5, tx.payload);
        },
        onException: (tx: Transaction<string>) => {
          if (tx.payload === 'p9') throw new Error('cannot handle p9');
          return 'handled';
        },
      });
      const connector = memoryQueue(payloads);
      inVirtualTime((_helpers, scheduler) => {
        const run = record(
          consume(connector, task, {
            loop: { mode: 'batch', concurrency: { value: 4 } },
            fetch: { batch: { size: 4 } },
            process: { retry: { maxAttempts: 2 } },
          }),
        );
        scheduler.flush();
        expect(run.completedAt).to.be.a('number');
        const count = (status: string): number =>
          run.values.filter((outcome) => outcome.status === status).length;
        expect([count('success'), count('exception'), count('failed')]).to.deep.equal([7, 2, 1]);
      });
      metrics = await otel.reader.ergonMetrics();
    });

    it('consumer.transactions.total counts transactions by status', () => {
      const total = 'consumer.transactions.total';
      expect(metrics.sum(total, { ...base, status: 'success' })).to.equal(7);
      expect(metrics.sum(total, { ...base, status: 'exception' })).to.equal(2);
      expect(metrics.sum(total, { ...base, status: 'failed' })).to.equal(1);
      expect(metrics.sum(total)).to.equal(10);
    });

    it('consumer.transactions.duration has one observation per transaction, in seconds', () => {
      const duration = 'consumer.transactions.duration';
      expect(metrics.unit(duration)).to.equal('s');
      expect(metrics.histogram(duration, { ...base, status: 'success' }).count).to.equal(7);
      expect(metrics.histogram(duration, { ...base, status: 'exception' }).count).to.equal(2);
      expect(metrics.histogram(duration, { ...base, status: 'failed' }).count).to.equal(1);
      // Virtual time: the real time spent is tiny, certainly not the 5 virtual ms as seconds × 1000.
      expect(metrics.histogram(duration).sum).to.be.below(5);
    });

    it('consumer.transactions.in_flight is back to 0', () => {
      expect(metrics.sum('consumer.transactions.in_flight', base)).to.equal(0);
      expect(metrics.sum('consumer.transactions.in_flight')).to.equal(0);
    });

    it('fetches, fetch sizes, batches and empty waits', () => {
      // Fetches of 4, 4, 2 and a closing empty one.
      expect(metrics.sum('consumer.fetch.total', { ...base, success: 'true' })).to.equal(4);
      expect(metrics.sum('consumer.fetch.total', { success: 'false' })).to.equal(0);
      expect(metrics.histogram('consumer.fetch.duration', base).count).to.equal(4);
      expect(metrics.unit('consumer.fetch.duration')).to.equal('s');
      expect(metrics.histogram('consumer.fetch.batch_size', base)).to.deep.equal({
        count: 3,
        sum: 10,
      });
      expect(metrics.sum('consumer.batches.total', base)).to.equal(3);
      expect(metrics.sum('consumer.empty_queue.waits')).to.equal(0);
    });

    it('lifecycle outcomes, attempts and durations by stage', () => {
      const outcome = 'consumer.lifecycle.outcome';
      expect(metrics.sum(outcome, { ...base, stage: 'process', outcome: 'ok' })).to.equal(7);
      expect(metrics.sum(outcome, { ...base, stage: 'process', outcome: 'error' })).to.equal(3);
      expect(metrics.sum(outcome, { ...base, stage: 'exception', outcome: 'ok' })).to.equal(2);
      expect(metrics.sum(outcome, { ...base, stage: 'exception', outcome: 'error' })).to.equal(1);
      expect(metrics.sum(outcome)).to.equal(13);

      const attempts = 'consumer.lifecycle.attempts';
      expect(metrics.sum(attempts, { stage: 'process', outcome: 'ok' })).to.equal(7);
      expect(metrics.sum(attempts, { stage: 'process', outcome: 'error' })).to.equal(6);
      expect(metrics.sum(attempts, { stage: 'exception', outcome: 'ok' })).to.equal(2);
      expect(metrics.sum(attempts, { stage: 'exception', outcome: 'error' })).to.equal(1);

      const duration = 'consumer.lifecycle.duration';
      expect(metrics.unit(duration)).to.equal('s');
      expect(metrics.histogram(duration, { stage: 'process', outcome: 'ok' }).count).to.equal(7);
      expect(metrics.histogram(duration, { stage: 'process', outcome: 'error' }).count).to.equal(3);
      expect(metrics.histogram(duration, { stage: 'exception', outcome: 'ok' }).count).to.equal(2);
      expect(metrics.histogram(duration, { stage: 'exception', outcome: 'error' }).count).to.equal(
        1,
      );
    });

    it('records nothing for a producer, and no ids or counters as attributes', () => {
      expect(metrics.names().filter((name) => name.startsWith('producer.'))).to.deep.equal([]);
      const sets = metrics.attributeSets();
      expect(sets.length).to.be.greaterThan(0);
      const ids = [...payloads, ...payloads.map((_, i) => `tx-${i + 1}`)];
      for (const { name, attributes } of sets) {
        expect(
          Object.keys(attributes).filter((key) => !allowedKeys.includes(key)),
          name,
        ).to.deep.equal([]);
        for (const value of Object.values(attributes)) {
          expect(ids, `${name} has an id as an attribute`).not.to.include(value);
          expect(typeof value, `${name}: ${String(value)}`).to.equal('string');
        }
      }
      // Bounded: a handful of attribute sets however many transactions ran.
      expect(sets.length).to.be.below(30);
    });
  });

  it('in_flight counts the transactions being processed while they are (real timers)', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let started = 0;
    const task = consumerTask({
      name: 'gated',
      process: async (tx: Transaction<string>) => {
        started++;
        await gate;
        return tx.payload;
      },
    });
    const done = lastValueFrom(
      consume(memoryQueue(['a', 'b', 'c']), task, { loop: { concurrency: { value: 3 } } }).pipe(
        toArray(),
      ),
    );
    for (let wait = 0; started < 3 && wait < 100; wait++) await timerPromise(1);
    expect(started).to.equal(3);
    const during = await otel.reader.ergonMetrics();
    expect(during.sum('consumer.transactions.in_flight', { task: 'gated' })).to.equal(3);
    expect(during.sum('consumer.transactions.total')).to.equal(0);
    open();
    await done;
    const afterwards = await otel.reader.ergonMetrics();
    expect(afterwards.sum('consumer.transactions.in_flight', { task: 'gated' })).to.equal(0);
    expect(afterwards.sum('consumer.transactions.total', { status: 'success' })).to.equal(3);
  });

  it('a streaming loop counts every empty poll as an empty-queue wait', () => {
    const connector = memoryQueue(['a']);
    const task = consumerTask({ name: 'idle', process: (tx: Transaction<string>) => tx.payload });
    inVirtualTime((_helpers, scheduler) => {
      record(
        consume(
          connector,
          task,
          {
            loop: { mode: 'continuous', streaming: true },
            fetch: { empty: { backoff: 10, backoffMultiplier: 1 } },
          },
          { stop$: timer(45) },
        ),
      );
      scheduler.flush();
    });
    return otel.reader.ergonMetrics().then((metrics) => {
      const waits = metrics.sum('consumer.empty_queue.waits', { task: 'idle' });
      expect(waits).to.be.within(4, 5);
      // One fetch returned the transaction; every other one was empty and followed by a wait.
      expect(metrics.sum('consumer.fetch.total', { task: 'idle', success: 'true' })).to.equal(
        waits + 1,
      );
      expect(metrics.histogram('consumer.fetch.batch_size', { task: 'idle' })).to.deep.equal({
        count: 1,
        sum: 1,
      });
    });
  });

  it('every released outcome is counted, also those fetched and never started (graceful stop)', async () => {
    const task = consumerTask({
      name: 'stopping',
      process: (): Observable<never> => timer(1000) as Observable<never>,
    });
    let outcomes = 0;
    inVirtualTime((_helpers, scheduler) => {
      const run = record(
        consume(
          memoryQueue(['a', 'b', 'c', 'd']),
          task,
          {
            loop: { mode: 'batch', concurrency: { value: 2 }, shutdownGrace: 20 },
            fetch: { batch: { size: 4 } },
          },
          { stop$: timer(10) },
        ),
      );
      scheduler.flush();
      expect(run.values.map((outcome) => outcome.status)).to.deep.equal([
        'released',
        'released',
        'released',
        'released',
      ]);
      outcomes = run.values.length;
    });
    const metrics = await otel.reader.ergonMetrics();
    // Two were in flight (cancelled after the grace period), two waited for a slot.
    expect(
      metrics.sum('consumer.transactions.total', { task: 'stopping', status: 'released' }),
      'released transactions counted',
    ).to.equal(outcomes);
    expect(metrics.sum('consumer.transactions.in_flight', { task: 'stopping' })).to.equal(0);
  });

  it('counters add up over consecutive and concurrent runs of a task, and restart with a new meter provider', async () => {
    const task = consumerTask({
      name: 'repeated',
      process: (tx: Transaction<string>) => tx.payload,
    });
    const consumeAll = (...sources: string[][]): void =>
      inVirtualTime((_helpers, scheduler) => {
        const runs = sources.map((source) => record(consume(memoryQueue(source), task)));
        scheduler.flush();
        for (const run of runs) expect(run.completedAt).to.be.a('number');
      });
    const where = { task: 'repeated', status: 'success' };
    consumeAll(['a', 'b']);
    expect((await otel.reader.ergonMetrics()).sum('consumer.transactions.total', where)).to.equal(
      2,
    );
    consumeAll(['c'], ['d', 'e', 'f']);
    const metrics = await otel.reader.ergonMetrics();
    expect(metrics.sum('consumer.transactions.total', where)).to.equal(6);
    expect(
      metrics.sum('consumer.lifecycle.attempts', {
        task: 'repeated',
        stage: 'process',
        outcome: 'ok',
      }),
    ).to.equal(6);
    const counter = metrics.metrics.find(
      (metric) => metric.descriptor.name === 'consumer.transactions.total',
    ) as SumMetricData;
    expect(counter.isMonotonic, 'a monotonic sum').to.equal(true);
    expect(counter.dataPoints, 'one point per attribute set').to.have.length(1);

    await otel.release();
    otel = installOtel({ tracing: false, contexts: false });
    consumeAll(['g']);
    expect((await otel.reader.ergonMetrics()).sum('consumer.transactions.total', where)).to.equal(
      1,
    );
  });

  it('a fetch that fails after its retries is counted with success false', async () => {
    const connector = memoryQueue(['a'], () => true);
    const task = consumerTask({ name: 'broken', process: (tx: Transaction<string>) => tx.payload });
    let error: unknown;
    inVirtualTime((_helpers, scheduler) => {
      const run = record(consume(connector, task, { fetch: { retry: { maxAttempts: 3 } } }));
      scheduler.flush();
      error = run.error;
    });
    expect(error).to.be.instanceOf(FetchError);
    const metrics = await otel.reader.ergonMetrics();
    expect(metrics.sum('consumer.fetch.total', { task: 'broken', success: 'false' })).to.equal(1);
    expect(metrics.sum('consumer.fetch.total', { task: 'broken', success: 'true' })).to.equal(0);
    expect(metrics.histogram('consumer.fetch.batch_size').count).to.equal(0);
  });
});

function timerPromise(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
