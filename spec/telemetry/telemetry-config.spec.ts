import { expect } from 'chai';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { telemetryConfig } from '../../lib/telemetry/index.js';
import { catchPolicyError, issueLines } from '../policy/catch-policy-error.js';
import { withoutLogLevelVariable } from '../support/log-level-variable.js';

describe('telemetryConfig', () => {
  withoutLogLevelVariable();

  const noEnvironment = {};

  it('defaults: traces and metrics on with nothing exported, JSON logs on the console', () => {
    expect(telemetryConfig(undefined, noEnvironment)).to.deep.equal({
      resource: { serviceName: null, taskName: null, attributes: {} },
      traces: {
        enabled: true,
        sampler: { type: 'parentbased_always_on' },
        processor: 'batch',
        exporters: [],
        attemptSpans: 'always',
      },
      metrics: { enabled: true, interval: 60_000, readers: [] },
      logs: {
        level: 'info',
        format: 'json',
        sinks: [{ type: 'console', level: null, format: null }],
        task: null,
      },
    });
  });

  it('decodes every exporter, reader and sampler form', () => {
    const memory = new InMemorySpanExporter();
    const config = telemetryConfig(
      {
        resource: {
          serviceName: 'shop',
          taskName: 'orders',
          attributes: { region: 'eu', shard: 3 },
        },
        traces: {
          sampler: { type: 'parentbased_ratio', ratio: '0.25' },
          processor: 'simple',
          exporters: ['console', { type: 'otlp', headers: { authorization: 'Bearer x' } }, memory],
        },
        metrics: {
          interval: '15s',
          readers: [
            { type: 'otlp', endpoint: 'http://collector:4317', interval: '5s' },
            { type: 'prometheus', port: '9464', preventServerStart: 'yes' },
          ],
        },
      },
      noEnvironment,
    );
    expect(config.resource).to.deep.equal({
      serviceName: 'shop',
      taskName: 'orders',
      attributes: { region: 'eu', shard: 3 },
    });
    expect(config.traces.sampler).to.deep.equal({ type: 'parentbased_ratio', ratio: 0.25 });
    expect(config.traces.exporters).to.deep.equal([
      { type: 'console' },
      { type: 'otlp', endpoint: null, headers: { authorization: 'Bearer x' }, timeout: null },
      memory,
    ]);
    expect(config.traces.exporters[2]).to.equal(memory);
    expect(config.metrics).to.deep.equal({
      enabled: true,
      interval: 15_000,
      readers: [
        {
          type: 'otlp',
          interval: 5000,
          endpoint: 'http://collector:4317',
          headers: {},
          timeout: null,
        },
        {
          type: 'prometheus',
          port: 9464,
          host: null,
          endpoint: '/metrics',
          preventServerStart: true,
        },
      ],
    });
    expect(config.logs.task, 'logs take the task name of the resource').to.equal('orders');
  });

  describe('from the environment alone', () => {
    it('reads exporters, sampler, interval and service name', () => {
      const config = telemetryConfig(undefined, {
        OTEL_SERVICE_NAME: 'shop',
        OTEL_TRACES_EXPORTER: 'otlp, console',
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_LOGS_EXPORTER: 'otlp',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.5',
        OTEL_METRIC_EXPORT_INTERVAL: '10000',
      });
      expect(config.resource.serviceName).to.equal('shop');
      expect(config.traces.exporters.map((e) => ('type' in e ? e.type : e))).to.deep.equal([
        'otlp',
        'console',
      ]);
      expect(config.traces.sampler).to.deep.equal({ type: 'parentbased_ratio', ratio: 0.5 });
      expect(config.metrics.readers.map((r) => ('type' in r ? r.type : r))).to.deep.equal([
        'prometheus',
      ]);
      expect(config.metrics.interval).to.equal(10_000);
      expect(config.logs.sinks.map((s) => ('type' in s ? s.type : s))).to.deep.equal([
        'console',
        'otlp',
      ]);
    });

    it('exports over OTLP whatever has an endpoint and no *_EXPORTER variable', () => {
      const config = telemetryConfig(undefined, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
        OTEL_METRICS_EXPORTER: 'none',
      });
      expect(config.traces.exporters).to.deep.equal([
        { type: 'otlp', endpoint: null, headers: {}, timeout: null },
      ]);
      expect(config.metrics.readers).to.deep.equal([]);
      expect(config.logs.sinks.map((s) => ('type' in s ? s.type : s))).to.deep.equal([
        'console',
        'otlp',
      ]);
      const tracesOnly = telemetryConfig(undefined, {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://tempo:4317',
      });
      expect(tracesOnly.traces.exporters).to.have.length(1);
      expect(tracesOnly.metrics.readers).to.deep.equal([]);
    });

    it('turns traces, metrics and OTLP logs off with OTEL_SDK_DISABLED', () => {
      const config = telemetryConfig(undefined, {
        OTEL_SDK_DISABLED: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317',
      });
      expect(config.traces.enabled).to.equal(false);
      expect(config.metrics.enabled).to.equal(false);
      expect(config.logs.sinks).to.deep.equal([{ type: 'console', level: null, format: null }]);
    });

    it('names each variable it cannot use', () => {
      const error = catchPolicyError(() =>
        telemetryConfig(undefined, {
          OTEL_TRACES_EXPORTER: 'jaeger',
          OTEL_TRACES_SAMPLER: 'traceidratio',
          OTEL_TRACES_SAMPLER_ARG: '2',
          OTEL_METRIC_EXPORT_INTERVAL: 'soon',
          OTEL_SDK_DISABLED: 'maybe',
        }),
      );
      expect(error.message.split('\n')[0]).to.equal('invalid telemetry environment variables:');
      expect(error.issues.map((issue) => issue.path)).to.have.members([
        'OTEL_TRACES_EXPORTER',
        'OTEL_TRACES_SAMPLER_ARG',
        'OTEL_METRIC_EXPORT_INTERVAL',
        'OTEL_SDK_DISABLED',
      ]);
    });
  });

  it('lets the explicit configuration win, key by key', () => {
    const config = telemetryConfig(
      { traces: { sampler: 'always_on' }, resource: { serviceName: 'explicit' } },
      {
        OTEL_SERVICE_NAME: 'from-env',
        OTEL_TRACES_EXPORTER: 'console',
        OTEL_TRACES_SAMPLER: 'always_off',
      },
    );
    expect(config.resource.serviceName).to.equal('explicit');
    expect(config.traces.sampler).to.deep.equal({ type: 'always_on' });
    expect(config.traces.exporters, 'kept from the environment').to.deep.equal([
      { type: 'console' },
    ]);
  });

  it('traces.attemptSpans: always or onFailure (any case); anything else is named with its path', () => {
    expect(
      telemetryConfig({ traces: { attemptSpans: 'onFailure' } }, {}).traces.attemptSpans,
    ).to.equal('onFailure');
    expect(
      telemetryConfig({ traces: { attemptSpans: ' ONFAILURE ' as 'onFailure' } }, {}).traces
        .attemptSpans,
    ).to.equal('onFailure');
    expect(
      issueLines(() => telemetryConfig({ traces: { attemptSpans: 'sometimes' as 'always' } }, {})),
    ).to.deep.equal(['traces.attemptSpans: expected "always" | "onFailure", got "sometimes"']);
  });

  it('lists every wrong key of the configuration with its path', () => {
    expect(
      issueLines(() =>
        telemetryConfig(
          {
            traces: { sampler: { type: 'ratio', ratio: 3 }, exporters: [{ type: 'zipkin' }] },
            metrics: { readers: [{ type: 'prometheus', port: -1 }] },
            resource: { attributes: { nested: { no: true } } },
            extra: true,
          } as never,
          {},
        ),
      ),
    ).to.deep.equal([
      'resource.attributes: expected object of strings, numbers and booleans, got {"nested":{"no":true}}',
      'traces.sampler.ratio: expected number from 0 to 1, got 3',
      'traces.exporters.0.type: expected one of "console" | "memory" | "otlp", got "zipkin"',
      'metrics.readers.0.port: expected TCP port (1-65535) or null, got -1',
      'extra: expected no such key (known keys: resource, traces, metrics, logs), got true',
    ]);
  });

  it('rejects an OTLP endpoint the exporter could not use, and names bad endpoint and port variables', () => {
    expect(
      issueLines(() =>
        telemetryConfig(
          { traces: { exporters: [{ type: 'otlp', endpoint: 'http://c:99999' }] } },
          {},
        ),
      ),
    ).to.deep.equal([
      'traces.exporters.0.endpoint: expected OTLP gRPC endpoint URL such as "http://localhost:4317" or null, got "http://c:99999"',
    ]);
    expect(
      issueLines(() =>
        telemetryConfig(undefined, {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url',
          OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'ftp://collector',
          OTEL_EXPORTER_PROMETHEUS_PORT: '99999',
        }),
      ),
    ).to.deep.equal([
      'OTEL_EXPORTER_OTLP_ENDPOINT: expected OTLP gRPC endpoint URL such as "http://localhost:4317", got "not a url"',
      'OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: expected OTLP gRPC endpoint URL such as "http://localhost:4317", got "ftp://collector"',
      'OTEL_EXPORTER_PROMETHEUS_PORT: expected TCP port (1-65535), got "99999"',
    ]);
    expect(
      telemetryConfig(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' }).traces
        .exporters,
    ).to.have.length(1);
  });
});
