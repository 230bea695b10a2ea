import { expect } from 'chai';
import { hostname, networkInterfaces } from 'node:os';
import log from 'loglevel';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import {
  getLogger,
  processExecutionId,
  setupTelemetry,
  TelemetrySetupError,
  withTransactionId,
  type TelemetryHandle,
} from '../../lib/telemetry/index.js';
import { PolicyError } from '../../lib/core/errors.js';
import { consume, consumerTask, MemoryConnector } from '../../lib/index.js';
import { lastValueFrom } from 'rxjs';
import { CapturedRecords } from './support/captured-records.js';
import { RecordingSpanExporter } from './support/recording-span-exporter.js';
import { withoutLogLevelVariable } from '../support/log-level-variable.js';

describe('setupTelemetry', () => {
  withoutLogLevelVariable();

  let telemetry: TelemetryHandle | undefined;

  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
  });

  const inMemoryMetrics = (): {
    exporter: InMemoryMetricExporter;
    reader: PeriodicExportingMetricReader;
  } => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    return { exporter, reader };
  };

  const counterValue = (exporter: InMemoryMetricExporter, name: string): number | undefined => {
    const metric = exporter
      .getMetrics()
      .flatMap((resourceMetrics) => resourceMetrics.scopeMetrics)
      .flatMap((scope) => scope.metrics)
      .filter((m) => m.descriptor.name === name)
      .at(-1) as SumMetricData | undefined;
    return metric?.dataPoints.reduce((sum, point) => sum + point.value, 0);
  };

  it('registers tracer and meter providers that the global API reaches', async () => {
    const { exporter, reader } = inMemoryMetrics();
    telemetry = setupTelemetry(
      {
        resource: { taskName: 'orders' },
        traces: { exporters: ['memory'], processor: 'simple' },
        metrics: { readers: [reader] },
        logs: { sinks: [] },
      },
      { env: {} },
    );
    const memory = telemetry.spanExporters[0];
    expect(memory).to.be.instanceOf(InMemorySpanExporter);
    expect(telemetry.metricReaders).to.deep.equal([reader]);

    const parent = trace.getTracer('spec').startSpan('task run');
    trace
      .getTracer('spec')
      .startSpan('transaction', {}, trace.setSpan(context.active(), parent))
      .end();
    parent.end();
    const counter = metrics.getMeter('ergon.task').createCounter('consumer.transactions.total');
    counter.add(2, { task: 'orders', status: 'success' });
    counter.add(1, { task: 'orders', status: 'exception' });
    await telemetry.forceFlush();

    const spans = (memory as InMemorySpanExporter).getFinishedSpans();
    expect(spans.map((span) => span.name)).to.deep.equal(['transaction', 'task run']);
    expect(spans[0]?.parentSpanContext?.spanId).to.equal(parent.spanContext().spanId);
    expect(spans[0]?.resource.attributes['ergon.task.name']).to.equal('orders');
    expect(counterValue(exporter, 'consumer.transactions.total')).to.equal(3);
  });

  it('puts service, task, execution id, host and pid on the resource', () => {
    telemetry = setupTelemetry(
      {
        resource: {
          serviceName: 'shop',
          taskName: 'orders',
          attributes: { 'deployment.environment.name': 'test', 'ergon.task.name': 'user value' },
        },
        logs: { sinks: [] },
      },
      { env: {} },
    );
    expect(telemetry.resource.attributes).to.deep.include({
      'service.name': 'shop',
      'ergon.task.name': 'orders',
      'ergon.task.execution.id': processExecutionId(),
      'ergon.task.execution.pid': process.pid,
      'ergon.task.execution.host.name': hostname(),
      'host.name': hostname(),
      'process.pid': process.pid,
      'deployment.environment.name': 'test',
    });
    expect(processExecutionId()).to.match(/^[0-9a-f-]{36}$/);
  });

  it('puts the host IP and the process start time on the resource (issue 24: reference parity)', () => {
    telemetry = setupTelemetry({ logs: { sinks: [] } }, { env: {} });
    const attributes = telemetry.resource.attributes;
    const external = Object.values(networkInterfaces())
      .flatMap((entries) => entries ?? [])
      .filter((entry) => !entry.internal)
      .map((entry) => entry.address);
    const ip = attributes['ergon.task.execution.host.ip'];
    if (external.length === 0) {
      expect(ip).to.equal('127.0.0.1');
      expect(attributes['host.ip']).to.equal(undefined);
    } else {
      expect(external).to.include(ip);
      expect(attributes['host.ip']).to.have.members(external);
    }
    const started = attributes['ergon.task.execution.start_time'];
    expect(started).to.equal(new Date(performance.timeOrigin).toISOString());
    expect(attributes['process.creation.time']).to.equal(started);
    expect(Date.parse(String(started))).to.be.at.most(Date.now());
  });

  it('names the service after the task when nothing else names it', () => {
    telemetry = setupTelemetry(
      { resource: { taskName: 'orders' }, logs: { sinks: [] } },
      { env: {} },
    );
    expect(telemetry.resource.attributes['service.name']).to.equal('orders');
  });

  it('flushes batched spans and pending metrics on shutdown', async () => {
    const spans = new RecordingSpanExporter();
    const { exporter, reader } = inMemoryMetrics();
    telemetry = setupTelemetry(
      { traces: { exporters: [spans] }, metrics: { readers: [reader] }, logs: { sinks: [] } },
      { env: {} },
    );
    trace.getTracer('spec').startSpan('buffered').end();
    metrics.getMeter('spec').createCounter('buffered.count').add(5);
    expect(spans.spans, 'the batch processor holds the span').to.have.length(0);
    expect(exporter.getMetrics(), 'no export before the interval').to.have.length(0);

    await telemetry.shutdown();
    expect(spans.spans.map((span) => span.name)).to.deep.equal(['buffered']);
    expect(spans.shutdownCalls).to.equal(1);
    expect(counterValue(exporter, 'buffered.count')).to.equal(5);
    await telemetry.shutdown();
    expect(spans.shutdownCalls, 'shutdown is idempotent').to.equal(1);
  });

  it('unregisters every global on shutdown, so it can be set up again', async () => {
    const first = setupTelemetry({ logs: { sinks: [] } }, { env: {} });
    expect(trace.getTracer('spec').startSpan('recorded').isRecording()).to.equal(true);
    expect(propagation.fields()).to.include('traceparent');
    await first.shutdown();

    expect(trace.getTracer('spec').startSpan('after').isRecording()).to.equal(false);
    expect(propagation.fields()).to.deep.equal([]);
    const key = Symbol('probe');
    expect(
      context.with(context.active().setValue(key, 1), () => context.active().getValue(key)),
    ).to.equal(undefined, 'no context manager any more');

    const records = new CapturedRecords();
    telemetry = setupTelemetry(
      { traces: { exporters: ['memory'], processor: 'simple' }, logs: { sinks: [records] } },
      { env: {} },
    );
    trace.getTracer('spec').startActiveSpan('second run', (span) => {
      getLogger('again').info('traced again');
      span.end();
    });
    const memory = telemetry.spanExporters[0] as InMemorySpanExporter;
    expect(memory.getFinishedSpans().map((span) => span.name)).to.deep.equal(['second run']);
    expect(records.records[0]?.traceId).to.match(/^[0-9a-f]{32}$/);
  });

  it("traces.attemptSpans 'onFailure': a successful first attempt has no span; shutdown puts 'always' back", async () => {
    const attemptSpans = async (): Promise<string[]> => {
      const memory = telemetry?.spanExporters[0] as InMemorySpanExporter;
      const task = consumerTask<string>({ name: 'shape', process: async () => {} });
      const connector = new MemoryConnector<string>({ source: ['a'] });
      await lastValueFrom(consume(connector, task, {}));
      return memory
        .getFinishedSpans()
        .map((span) => span.name)
        .filter((name) => name.endsWith('attempt') && name !== 'fetch attempt');
    };
    telemetry = setupTelemetry(
      {
        traces: { exporters: ['memory'], processor: 'simple', attemptSpans: 'onFailure' },
        logs: { sinks: [] },
      },
      { env: {} },
    );
    expect(await attemptSpans()).to.deep.equal([]);
    await telemetry.shutdown();
    telemetry = setupTelemetry(
      { traces: { exporters: ['memory'], processor: 'simple' }, logs: { sinks: [] } },
      { env: {} },
    );
    expect(await attemptSpans()).to.deep.equal(['process attempt']);
  });

  it('refuses a second setup while the first is live, leaving the first intact', () => {
    const records = new CapturedRecords();
    telemetry = setupTelemetry({ logs: { sinks: [records] } }, { env: {} });
    expect(() => setupTelemetry({ logs: { sinks: [] } }, { env: {} }))
      .to.throw(TelemetrySetupError)
      .with.property('message')
      .that.contains('tracer provider is already registered');
    expect(trace.getTracer('spec').startSpan('still').isRecording()).to.equal(true);
    getLogger('intact').info('still routed');
    expect(records.messages).to.deep.equal(['still routed']);
  });

  it('keeps transaction ids in logs with tracing and metrics off', () => {
    const records = new CapturedRecords();
    telemetry = setupTelemetry(
      { traces: { enabled: false }, metrics: { enabled: false }, logs: { sinks: [records] } },
      { env: {} },
    );
    expect(telemetry.tracerProvider).to.equal(undefined);
    expect(telemetry.meterProvider).to.equal(undefined);
    context.with(withTransactionId(context.active(), 'tx-9'), () => {
      getLogger('untraced').info('no span');
    });
    expect(records.records[0]?.transactionId).to.equal('tx-9');
    expect(records.records[0]?.traceId).to.equal(undefined);
  });

  it('registers the OTLP logger provider globally while it lives', async () => {
    telemetry = setupTelemetry(
      { logs: { sinks: [{ type: 'otlp', endpoint: 'http://127.0.0.1:9' }] } },
      { env: {} },
    );
    expect(logs.getLoggerProvider()).to.equal(telemetry.loggerProvider);
    await telemetry.shutdown();
    telemetry = undefined;
    expect(logs.getLoggerProvider()).not.to.equal(undefined);
    expect(logs.getLoggerProvider().constructor.name).to.equal('ProxyLoggerProvider');
  });

  it('configures everything from the environment alone', () => {
    telemetry = setupTelemetry(undefined, {
      env: {
        OTEL_SERVICE_NAME: 'from-env',
        OTEL_TRACES_EXPORTER: 'console',
        OTEL_TRACES_SAMPLER: 'always_off',
        OTEL_METRICS_EXPORTER: 'none',
      },
    });
    expect(telemetry.resource.attributes['service.name']).to.equal('from-env');
    expect(telemetry.spanExporters).to.have.length(1);
    expect(trace.getTracer('spec').startSpan('sampled out').isRecording()).to.equal(false);
    expect(log.getLevel()).to.equal(log.levels.INFO);
  });

  it('rejects a bad configuration with a PolicyError and registers nothing', () => {
    expect(() =>
      setupTelemetry({ traces: { exporters: ['jaeger' as 'console'] } }, { env: {} }),
    ).to.throw(PolicyError, 'traces.exporters.0.type');
    expect(trace.getTracer('spec').startSpan('nothing').isRecording()).to.equal(false);
  });
});
