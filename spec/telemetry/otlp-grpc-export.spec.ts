import { expect } from 'chai';
import { context, metrics, trace } from '@opentelemetry/api';
import { setupTelemetry, type TelemetryHandle } from '../../lib/telemetry/index.js';
import { OtlpCollectorStub } from './support/otlp-collector-stub.js';
import { metricNamesIn, resourceAttributesIn, spansIn } from './support/otlp-requests.js';

describe('OTLP gRPC export, end to end', () => {
  let collector: OtlpCollectorStub;
  let telemetry: TelemetryHandle | undefined;

  before(async () => {
    collector = await OtlpCollectorStub.start();
  });

  after(() => collector.stop());

  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
  });

  it('delivers a span tree, its resource and metrics to an in-process collector', async () => {
    telemetry = setupTelemetry(
      {
        resource: { serviceName: 'shop', taskName: 'orders' },
        traces: {
          exporters: [
            { type: 'otlp', endpoint: collector.endpoint, headers: { 'x-tenant': 'spec' } },
          ],
        },
        metrics: { readers: [{ type: 'otlp', endpoint: collector.endpoint }] },
        logs: { sinks: [] },
      },
      { env: {} },
    );
    const tracer = trace.getTracer('spec');
    const run = tracer.startSpan('task run');
    const runContext = trace.setSpan(context.active(), run);
    for (const id of ['t-1', 't-2']) {
      const transaction = tracer.startSpan(`process ${id}`, {}, runContext);
      tracer.startSpan('process attempt', {}, trace.setSpan(runContext, transaction)).end();
      transaction.end();
    }
    run.end();
    metrics.getMeter('ergon.task').createCounter('consumer.transactions.total').add(2);

    await telemetry.shutdown();
    telemetry = undefined;

    const spans = collector.requests.trace.flatMap(spansIn);
    expect(spans.map((span) => span.name).sort()).to.deep.equal([
      'process attempt',
      'process attempt',
      'process t-1',
      'process t-2',
      'task run',
    ]);
    const runId = run.spanContext().spanId;
    expect(new Set(spans.map((span) => span.traceId))).to.deep.equal(
      new Set([run.spanContext().traceId]),
    );
    expect(spans.filter((span) => span.parentSpanId === runId)).to.have.length(2);
    const [resource] = collector.requests.trace.flatMap(resourceAttributesIn);
    expect(resource).to.include({ 'service.name': 'shop', 'ergon.task.name': 'orders' });
    expect(collector.requests.metrics.flatMap(metricNamesIn)).to.include(
      'consumer.transactions.total',
    );
  });
});
