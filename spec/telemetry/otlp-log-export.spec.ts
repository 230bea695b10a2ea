import { expect } from 'chai';
import { context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  configureLogging,
  getLogger,
  OtlpLogSink,
  setupTelemetry,
  withTransactionId,
  type TelemetryHandle,
} from '../../lib/telemetry/index.js';
import { OtlpCollectorStub } from './support/otlp-collector-stub.js';
import { logRecordsIn, resourceAttributesIn } from './support/otlp-requests.js';
import { withoutLogLevelVariable } from '../support/log-level-variable.js';

describe('OTLP log export', () => {
  withoutLogLevelVariable();

  describe('OtlpLogSink', () => {
    let exporter: InMemoryLogRecordExporter;
    let provider: LoggerProvider;

    beforeEach(() => {
      exporter = new InMemoryLogRecordExporter();
      provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    });

    afterEach(() => provider.shutdown());

    it('emits each record with severity, body, fields, ids, exception and trace context', async () => {
      const telemetry = setupTelemetry(
        {
          resource: { taskName: 'orders' },
          logs: { level: 'debug', sinks: [new OtlpLogSink(provider)] },
        },
        { env: {} },
      );
      try {
        const span = trace.getTracer('spec').startSpan('process');
        context.with(withTransactionId(trace.setSpan(context.active(), span), 'order-3'), () => {
          getLogger('ergon.orders').warn('declined', new Error('card expired'), {
            amount: 12,
            meta: { retry: true, big: 5n },
          });
        });
        span.end();
        const [record] = exporter.getFinishedLogRecords();
        expect(record?.instrumentationScope.name).to.equal('ergon.orders');
        expect(record?.severityNumber).to.equal(SeverityNumber.WARN);
        expect(record?.severityText).to.equal('WARN');
        expect(record?.body).to.equal('declined');
        expect(record?.spanContext?.traceId).to.equal(span.spanContext().traceId);
        expect(record?.spanContext?.spanId).to.equal(span.spanContext().spanId);
        expect(record?.attributes).to.deep.include({
          amount: 12,
          meta: { retry: true, big: '5' },
          'ergon.transaction.id': 'order-3',
          'ergon.task.name': 'orders',
          'exception.type': 'Error',
          'exception.message': 'card expired',
        });
        expect(record?.attributes['exception.stacktrace']).to.match(/^Error: card expired\n/);
      } finally {
        await telemetry.shutdown();
      }
    });
  });

  describe('over gRPC to a collector', () => {
    let collector: OtlpCollectorStub;
    let telemetry: TelemetryHandle | undefined;

    before(async () => {
      collector = await OtlpCollectorStub.start();
    });

    after(() => collector.stop());

    afterEach(async () => {
      await telemetry?.shutdown();
      telemetry = undefined;
      collector.requests.logs.length = 0;
    });

    it('exports records with their trace ids and resource, flushed by shutdown', async () => {
      telemetry = setupTelemetry(
        {
          resource: { serviceName: 'shop', taskName: 'orders' },
          logs: { sinks: [{ type: 'otlp', endpoint: collector.endpoint }] },
        },
        { env: {} },
      );
      const span = trace.getTracer('spec').startSpan('process');
      context.with(trace.setSpan(context.active(), span), () => {
        getLogger('ergon.orders').info('shipped', { parcel: 'p-9' });
      });
      span.end();
      expect(collector.requests.logs, 'batched until flushed').to.have.length(0);
      await telemetry.shutdown();
      telemetry = undefined;

      const records = collector.requests.logs.flatMap(logRecordsIn);
      expect(records).to.have.length(1);
      expect(records[0]).to.deep.include({
        body: 'shipped',
        severityNumber: SeverityNumber.INFO,
        severityText: 'INFO',
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
      });
      expect(records[0]?.attributes).to.deep.include({
        parcel: 'p-9',
        'ergon.task.name': 'orders',
      });
      const [resource] = collector.requests.logs.flatMap(resourceAttributesIn);
      expect(resource).to.include({ 'service.name': 'shop', 'ergon.task.name': 'orders' });
    });

    it('leaves out records below an OTLP sink level', async () => {
      const logging = configureLogging({
        level: 'info',
        sinks: [{ type: 'otlp', endpoint: collector.endpoint, level: 'error' }],
      });
      getLogger('quiet').info('not exported');
      getLogger('quiet').error('exported');
      await logging.shutdown();
      expect(collector.requests.logs.flatMap(logRecordsIn).map((r) => r.body)).to.deep.equal([
        'exported',
      ]);
    });
  });
});
