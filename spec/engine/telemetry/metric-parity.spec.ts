import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { from, throwError, type Observable } from 'rxjs';
import sinon from 'sinon';
import { DataPointType, type MetricData } from '@opentelemetry/sdk-metrics';
import {
  consume,
  consumerTask,
  createTransaction,
  MemoryConnector,
  produce,
  producerTask,
  type Connector,
  type FetchRequest,
  type Transaction,
} from '../../../lib/index.js';
import { after as emitAfter, failAfter } from '../support/handlers.js';
import { inVirtualTime, now, record } from '../support/virtual-time.js';
import { installOtel, type InstalledOtel } from './support/otel.js';

/**
 * Every metric of the `ergon.task` meter after a known run, compared point by point with what
 * the engine's instrumentation exported before its metrics moved into the engine's own
 * structures (issue #24): the same names, descriptors, attribute sets, counts, sums, minima,
 * maxima and histogram bucket counts. The expected export is `fixtures/metric-parity.json`,
 * recorded from the earlier instrumentation (`ERGON_RECORD_METRIC_PARITY=1` rewrites it; only
 * for a deliberate change of the exported metrics).
 *
 * Durations are timed with `performance.now()`, tied here to the virtual clock, so every
 * duration is exact and lands in a known bucket.
 */
const fixture = new URL('fixtures/metric-parity.json', import.meta.url);

/** Handler durations in ms by payload, spread over the duration buckets. */
const durations: Readonly<Record<string, number>> = {
  a: 1,
  b: 4,
  c: 7,
  d: 20,
  e: 60,
  f: 90,
  g: 300,
  h: 700,
  i: 2000,
  j: 6000,
  k: 3,
  l: 12,
};

function memoryQueue(source: string[]): Connector<string> {
  const memory = new MemoryConnector<string>({ source });
  return {
    system: 'memory',
    fetch: (request: FetchRequest): Observable<Transaction<string>> => memory.fetch(request),
    settle: (transaction, decision) => memory.settle(transaction, decision),
  };
}

/** A JSON-comparable description of one exported metric (points sorted by attributes). */
function describeMetric(metric: MetricData): unknown {
  const points = (metric.dataPoints as readonly { attributes: object; value: unknown }[]).map(
    (point) => ({ attributes: sortedEntries(point.attributes), value: point.value }),
  );
  points.sort((a, b) => (JSON.stringify(a.attributes) < JSON.stringify(b.attributes) ? -1 : 1));
  return {
    name: metric.descriptor.name,
    description: metric.descriptor.description,
    unit: metric.descriptor.unit,
    valueType: metric.descriptor.valueType,
    type: DataPointType[metric.dataPointType],
    temporality: metric.aggregationTemporality,
    monotonic: 'isMonotonic' in metric ? metric.isMonotonic : undefined,
    points,
  };
}

function sortedEntries(attributes: object): [string, unknown][] {
  return Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Runs the known consumer and producer runs in virtual time. */
function knownRun(): void {
  const consumer = consumerTask({
    name: 'parity',
    process: (tx: Transaction<string>, ctx) => {
      const ms = durations[tx.payload] ?? 0;
      // c and h fail once then succeed; e and i always fail; k is not retried.
      if ((tx.payload === 'c' || tx.payload === 'h') && ctx.attempt === 1)
        return failAfter(ms, new Error(`first ${tx.payload}`));
      if (tx.payload === 'e' || tx.payload === 'i') return failAfter(ms, new Error('always'));
      return emitAfter(ms, tx.payload);
    },
    onException: (tx: Transaction<string>) => {
      if (tx.payload === 'i') return failAfter(30, new Error('cannot handle i'));
      return emitAfter(8, 'handled');
    },
  });
  const producer = producerTask({
    name: 'parity-out',
    prepare: (tx: Transaction<number>, ctx) => {
      if (tx.payload === 2 && ctx.attempt === 1) return throwError(() => new Error('not yet'));
      return emitAfter(tx.payload * 15, { n: tx.payload });
    },
  });
  inVirtualTime((_helpers, scheduler) => {
    const consumed = record(
      consume(memoryQueue(Object.keys(durations)), consumer, {
        loop: { mode: 'batch', concurrency: { value: 3 } },
        fetch: { batch: { size: 5 } },
        process: { retry: { maxAttempts: 2 } },
      }),
    );
    const produced = record(
      from([1, 2, 3, 4, 5].map((n) => createTransaction(n, { id: `out-${n}` }))).pipe(
        produce(new MemoryConnector<{ n: number }>(), producer, {
          loop: { concurrency: { value: 2 }, batch: { size: 2, maxWait: 40 } },
          prepare: { retry: { maxAttempts: 2 } },
        }),
      ),
    );
    scheduler.flush();
    expect(consumed.completedAt).to.be.a('number');
    expect(produced.completedAt).to.be.a('number');
    expect(consumed.values).to.have.length(12);
    expect(produced.values).to.have.length(5);
  });
}

/** Every metric of the `ergon.task` scope(s) collected now, JSON-comparable. */
async function exportedMetrics(otel: InstalledOtel): Promise<unknown> {
  const { resourceMetrics } = await otel.reader.collect();
  const exported = resourceMetrics.scopeMetrics
    .filter((scope) => scope.scope.name === 'ergon.task')
    .flatMap((scope) => scope.metrics)
    .map(describeMetric)
    .sort((a, b) => ((a as { name: string }).name < (b as { name: string }).name ? -1 : 1));
  return JSON.parse(JSON.stringify(exported));
}

for (const engineMetricProducer of [false, true]) {
  describe(`engine telemetry: metric parity (issue #24), ${engineMetricProducer ? 'histograms from an EngineMetricProducer' : 'histograms through the API'}`, () => {
    let otel: InstalledOtel;
    let clock: sinon.SinonStub;

    beforeEach(() => {
      otel = installOtel({ tracing: false, contexts: false, engineMetricProducer });
      clock = sinon.stub(performance, 'now').callsFake(() => now());
    });

    afterEach(async () => {
      clock.restore();
      await otel.release();
    });

    it('exports exactly the metrics of the earlier instrumentation after a known run', async () => {
      knownRun();
      const actual = await exportedMetrics(otel);
      if (process.env['ERGON_RECORD_METRIC_PARITY'] === '1' && !engineMetricProducer) {
        writeFileSync(fixture, `${JSON.stringify(actual, null, 2)}\n`);
      }
      const expected: unknown = JSON.parse(readFileSync(fixture, 'utf8'));
      expect(actual).to.deep.equal(expected);
      // The producer's histograms come as a scope of their own, beside the SDK's counters.
      const { resourceMetrics } = await otel.reader.collect();
      const scopes = resourceMetrics.scopeMetrics.filter(
        (scope) => scope.scope.name === 'ergon.task',
      );
      expect(scopes).to.have.length(engineMetricProducer ? 2 : 1);
    });
  });
}
