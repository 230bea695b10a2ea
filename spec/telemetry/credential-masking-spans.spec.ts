import { SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { expect } from 'chai';
import { decodePolicy } from '../../lib/policy/codecs/structures.js';
import { TracesConfigCodec } from '../../lib/telemetry/config/traces-config.js';
import { tracerProvider } from '../../lib/telemetry/tracer-provider.js';

describe('spans of failures, as exporters see them', () => {
  it('carry no credential in exception events, status message or attributes', async () => {
    const exporter = new InMemorySpanExporter();
    const { provider } = tracerProvider(
      decodePolicy(TracesConfigCodec, 'traces', { exporters: [exporter], processor: 'simple' }),
      resourceFromAttributes({}),
    );
    const span = provider.getTracer('spec').startSpan('connect', {
      attributes: { 'db.connection_string': 'postgres://app:s3cret@db/jobs', kept: 'plain' },
    });
    const error = new TypeError('cannot reach redis://:s3cret@cache:6379');
    span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    span.end();
    const healthy = provider.getTracer('spec').startSpan('ok', { attributes: { url: 'a:b@c' } });
    healthy.end();
    const [failed, ok] = exporter.getFinishedSpans();
    const text = JSON.stringify([failed?.events, failed?.status, failed?.attributes]);
    expect(text).not.to.include('s3cret');
    expect(failed?.events[0]?.attributes?.['exception.message']).to.equal(
      'cannot reach redis://:***@cache:6379',
    );
    expect(failed?.status.message).to.equal('cannot reach redis://:***@cache:6379');
    expect(failed?.attributes).to.deep.include({
      'db.connection_string': 'postgres://app:***@db/jobs',
      kept: 'plain',
    });
    expect(ok?.attributes['url'], 'a span that did not fail is not touched').to.equal('a:b@c');
    await provider.shutdown();
  });
});
