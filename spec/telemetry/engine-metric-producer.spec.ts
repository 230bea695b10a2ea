import { expect } from 'chai';
import fc from 'fast-check';
import { ValueType } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, MemoryConnector, type Transaction } from '../../lib/index.js';
import { EngineMetricProducer } from '../../lib/telemetry/index.js';
import { histogramStores } from '../../lib/engine/internal/instrumentation/engine-histograms.js';
import { installOtel } from '../engine/telemetry/support/otel.js';

class OnDemandReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

const boundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 1, 10];
const definition = {
  name: 'probe.duration',
  description: 'a probe',
  unit: 's',
  valueType: ValueType.DOUBLE,
  boundaries,
};

function histogramPoints(metrics: readonly MetricData[], name: string): unknown {
  const metric = metrics.find((entry) => entry.descriptor.name === name);
  if (metric === undefined) return [];
  expect(metric.dataPointType).to.equal(DataPointType.HISTOGRAM);
  return JSON.parse(
    JSON.stringify(
      (metric.dataPoints as readonly { attributes: unknown; value: unknown }[]).map((point) => ({
        attributes: point.attributes,
        value: point.value,
      })),
    ),
  );
}

describe('EngineMetricProducer', () => {
  it('property: aggregates any values (bucket boundaries, zero, NaN included) exactly as the SDK histogram does', async () => {
    const value = fc.oneof(
      fc.constantFrom(0, ...boundaries, Number.NaN),
      fc.double({ min: 0, max: 20, noNaN: true }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), value), { maxLength: 40 }),
        async (measurements) => {
          // The SDK side: a synchronous histogram of the same definition.
          const sdkReader = new OnDemandReader();
          const sdk = new MeterProvider({ readers: [sdkReader] });
          const histogram = sdk.getMeter('probe').createHistogram(definition.name, {
            description: definition.description,
            unit: definition.unit,
            advice: { explicitBucketBoundaries: boundaries },
          });
          // The engine side: a store the producer reports.
          const producer = new EngineMetricProducer();
          const store = histogramStores.current().at(-1);
          try {
            for (const [label, measured] of measurements) {
              histogram.record(measured, { label });
              store?.cell(definition, { label }).record(measured);
            }
            const fromSdk = (await sdkReader.collect()).resourceMetrics.scopeMetrics.flatMap(
              (scope) => scope.metrics,
            );
            const fromProducer = (await producer.collect()).resourceMetrics.scopeMetrics.flatMap(
              (scope) => scope.metrics,
            );
            expect(histogramPoints(fromProducer, definition.name)).to.deep.equal(
              histogramPoints(fromSdk, definition.name),
            );
          } finally {
            producer.close();
            await sdk.shutdown();
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  describe('with the engine', () => {
    let otel: ReturnType<typeof installOtel>;

    afterEach(async () => {
      await otel.release();
    });

    const run = (name: string, count: number) =>
      lastValueFrom(
        consume(
          new MemoryConnector<number>({ source: Array.from({ length: count }, (_, i) => i) }),
          consumerTask({ name, process: (tx: Transaction<number>) => tx.payload }),
        ).pipe(toArray()),
      );

    it('delta temporality: each collection reports what was recorded since the previous one', async () => {
      otel = installOtel({ tracing: false, contexts: false });
      const producer = new EngineMetricProducer({ temporality: AggregationTemporality.DELTA });
      try {
        await run('delta', 3);
        const first = await producer.collect();
        await run('delta', 2);
        const second = await producer.collect();
        const third = await producer.collect();
        const count = (result: typeof first): number[] =>
          result.resourceMetrics.scopeMetrics
            .flatMap((scope) => scope.metrics)
            .filter((metric) => metric.descriptor.name === 'consumer.transactions.duration')
            .flatMap((metric) => metric.dataPoints as { value: { count: number } }[])
            .map((point) => point.value.count);
        expect(count(first)).to.deep.equal([3]);
        expect(count(second)).to.deep.equal([2]);
        expect(count(third), 'nothing new: no point').to.deep.equal([]);
        expect(first.resourceMetrics.scopeMetrics[0]?.metrics[0]?.aggregationTemporality).to.equal(
          AggregationTemporality.DELTA,
        );
      } finally {
        producer.close();
      }
    });

    it('once closed, runs record their histograms through the API again', async () => {
      otel = installOtel({ tracing: false, contexts: false });
      const producer = new EngineMetricProducer();
      await run('closing', 2);
      producer.close();
      await run('closing', 4);
      const reported = await producer.collect();
      expect(
        reported.resourceMetrics.scopeMetrics,
        'a closed producer reports nothing',
      ).to.deep.equal([]);
      const metrics = await otel.reader.ergonMetrics();
      expect(
        metrics.histogram('consumer.transactions.duration', { task: 'closing' }).count,
      ).to.equal(4);
      expect(metrics.sum('consumer.transactions.total', { task: 'closing' })).to.equal(6);
    });
  });
});
