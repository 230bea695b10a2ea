import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runNode, type NodeResult } from './support/run-node.js';

const runExport = fileURLToPath(new URL('./fixtures/run-export.ts', import.meta.url));
const fixture = 'spec/telemetry/fixtures/telemetry-task.ts';

/** Exit 2 with one configuration error naming `key`, and no stack. */
function expectConfigError(result: NodeResult, key: string, expected: string): void {
  expect(result.code, result.stderr).to.equal(2);
  expect(result.stderr).to.include(`${key}: expected ${expected}`);
  expect(result.stderr).not.to.include('TypeError');
  expect(result.stderr).not.to.match(/^\s+at /m);
}

describe('bad telemetry configuration in a task (child processes)', function () {
  this.timeout(60_000);

  // Started together: each is a cold Node process with tsx.
  let runs: Readonly<Record<string, Promise<NodeResult>>>;
  before(() => {
    const cleanEnv = {
      OTEL_EXPORTER_OTLP_ENDPOINT: '',
      OTEL_EXPORTER_PROMETHEUS_PORT: '',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
    };
    const withEnv = (env: Readonly<Record<string, string>>) =>
      runNode([runExport, fixture, 'fromEnvironment'], { ...cleanEnv, ...env });
    runs = {
      endpoint: runNode([runExport, fixture, 'badEndpoint'], cleanEnv),
      endpointVariable: withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:99999' }),
      tracesEndpointVariable: withEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://collector' }),
      portText: withEnv({ OTEL_EXPORTER_PROMETHEUS_PORT: 'abc' }),
      portRange: withEnv({ OTEL_EXPORTER_PROMETHEUS_PORT: '99999' }),
    };
  });

  it('names the key of an OTLP endpoint that is not a URL, exit 2', async () => {
    expectConfigError(
      await runs['endpoint']!,
      'telemetry.traces.exporters.0.endpoint',
      'OTLP gRPC endpoint URL',
    );
  });

  it('names OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT when bad, exit 2', async () => {
    expectConfigError(
      await runs['endpointVariable']!,
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTLP gRPC endpoint URL',
    );
    expectConfigError(
      await runs['tracesEndpointVariable']!,
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTLP gRPC endpoint URL',
    );
  });

  it('names OTEL_EXPORTER_PROMETHEUS_PORT=abc and =99999 instead of ignoring them, exit 2', async () => {
    expectConfigError(await runs['portText']!, 'OTEL_EXPORTER_PROMETHEUS_PORT', 'TCP port');
    expectConfigError(await runs['portRange']!, 'OTEL_EXPORTER_PROMETHEUS_PORT', 'TCP port');
  });
});
