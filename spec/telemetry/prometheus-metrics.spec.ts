import { expect } from 'chai';
import { get, type Server } from 'node:http';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, MemoryConnector, type Transaction } from '../../lib/index.js';
import { setupTelemetry, type TelemetryHandle } from '../../lib/telemetry/index.js';
import { freePort } from '../support/free-port.js';

function fetchText(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('Prometheus metrics', () => {
  let telemetry: TelemetryHandle | undefined;

  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
  });

  const recordTransactions = (): void => {
    const counter = metrics.getMeter('ergon.task').createCounter('consumer.transactions.total');
    counter.add(3, { task: 'orders', status: 'success' });
    metrics
      .getMeter('ergon.task')
      .createHistogram('consumer.transactions.duration', { unit: 's' })
      .record(0.25, { task: 'orders', status: 'success' });
  };

  it('collects without opening a port (preventServerStart)', async () => {
    telemetry = setupTelemetry(
      {
        resource: { taskName: 'orders' },
        metrics: { readers: [{ type: 'prometheus', preventServerStart: true }] },
        logs: { sinks: [] },
      },
      { env: {} },
    );
    recordTransactions();
    const reader = telemetry.metricReaders[0];
    expect(reader).to.be.instanceOf(PrometheusExporter);
    const { resourceMetrics, errors } = await (reader as PrometheusExporter).collect();
    expect(errors).to.deep.equal([]);
    const text = new PrometheusSerializer().serialize(resourceMetrics);
    expect(text).to.match(/consumer_transactions_total\{[^}]*task="orders"[^}]*\} 3/);
    expect(text).to.contain('consumer_transactions_duration_bucket');
  });

  it("an engine run's histograms come from the reader's engine metric producer, once (issue 24)", async () => {
    telemetry = setupTelemetry(
      {
        metrics: { readers: [{ type: 'prometheus', preventServerStart: true }] },
        traces: { enabled: false },
        logs: { sinks: [] },
      },
      { env: {} },
    );
    await lastValueFrom(
      consume(
        new MemoryConnector<number>({ source: [1, 2, 3] }),
        consumerTask({ name: 'scraped', process: (tx: Transaction<number>) => tx.payload }),
      ).pipe(toArray()),
    );
    const reader = telemetry.metricReaders[0] as PrometheusExporter;
    const { resourceMetrics } = await reader.collect();
    const fromProducer = resourceMetrics.scopeMetrics.filter(
      (scope) =>
        scope.scope.name === 'ergon.task' &&
        scope.metrics.some((metric) => metric.descriptor.name === 'consumer.transactions.duration'),
    );
    expect(fromProducer, 'one scope holds the histograms').to.have.length(1);
    expect(
      fromProducer[0]?.metrics.map((metric) => metric.descriptor.name),
      'the producer scope holds histograms only (the counters come from the SDK)',
    ).not.to.include('consumer.transactions.total');
    const text = new PrometheusSerializer().serialize(resourceMetrics);
    expect(text).to.match(/consumer_transactions_duration_count\{[^}]*task="scraped"[^}]*\} 3/);
    expect(text.match(/# TYPE consumer_transactions_duration /g)).to.have.length(1);
    expect(text).to.match(/consumer_transactions_total\{[^}]*task="scraped"[^}]*\} 3/);
  });

  it('serves /metrics on the configured host and port', async () => {
    const port = await freePort();
    telemetry = setupTelemetry(
      {
        metrics: { readers: [{ type: 'prometheus', host: '127.0.0.1', port }] },
        logs: { sinks: [] },
      },
      { env: {} },
    );
    recordTransactions();
    await (telemetry.metricReaders[0] as PrometheusExporter).startServer();
    const { status, body } = await fetchText(`http://127.0.0.1:${port}/metrics`);
    expect(status).to.equal(200);
    expect(body).to.match(/consumer_transactions_total\{[^}]*status="success"[^}]*\} 3/);
    expect(body).to.match(/target_info\{[^}]*ergon_task_execution_id="[0-9a-f-]{36}"/);

    await telemetry.shutdown();
    telemetry = undefined;
    const closed = await fetchText(`http://127.0.0.1:${port}/metrics`).catch(
      (error: unknown) => (error as NodeJS.ErrnoException).code,
    );
    expect(closed, 'shutdown stops the server').to.equal('ECONNREFUSED');
  });

  it('listens on 127.0.0.1 unless a host is given (issue 13 item 15)', async () => {
    const port = await freePort();
    const saved = process.env['OTEL_EXPORTER_PROMETHEUS_HOST'];
    delete process.env['OTEL_EXPORTER_PROMETHEUS_HOST'];
    try {
      telemetry = setupTelemetry(
        { metrics: { readers: [{ type: 'prometheus', port }] }, logs: { sinks: [] } },
        { env: {} },
      );
    } finally {
      if (saved !== undefined) process.env['OTEL_EXPORTER_PROMETHEUS_HOST'] = saved;
    }
    const exporter = telemetry.metricReaders[0] as PrometheusExporter;
    await exporter.startServer();
    // The exporter keeps its server private; its address is what this spec is about.
    const server = (exporter as unknown as { _server: Server })._server;
    expect(server.address()).to.include({ address: '127.0.0.1', port });
  });
});
