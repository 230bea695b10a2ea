import { expect } from 'chai';
import { context, trace } from '@opentelemetry/api';
import { lastValueFrom } from 'rxjs';
import { attempt } from '../../../lib/index.js';
import {
  attribute,
  exceptions,
  installOtel,
  isError,
  named,
  parentId,
  spanId,
  type InstalledOtel,
} from './support/otel.js';

describe('engine telemetry: attempt() spans (issue #24)', () => {
  let otel: InstalledOtel;

  afterEach(async () => {
    await otel.release();
  });

  it('a span per attempt under the subscriber context, ERROR for failed ones, active while fn runs', async () => {
    otel = installOtel({ metrics: false });
    const parent = trace.getTracer('spec').startSpan('caller');
    const activeInFn: (string | undefined)[] = [];
    const value = await context.with(trace.setSpan(context.active(), parent), () =>
      lastValueFrom(
        attempt(
          ({ attempt: n }) => {
            activeInFn.push(trace.getSpanContext(context.active())?.spanId);
            if (n < 3) throw new Error(`try ${n} failed`);
            return Promise.resolve('user 7');
          },
          { maxAttempts: 3, backoff: 1 },
          { name: 'fetch-user' },
        ),
      ),
    );
    parent.end();
    expect(value).to.equal('user 7');
    const spans = named(otel.spans(), 'fetch-user attempt');
    expect(spans.map((span) => attribute(span, 'ergon.attempt'))).to.deep.equal([1, 2, 3]);
    expect(spans.map(isError)).to.deep.equal([true, true, false]);
    expect(spans.map(exceptions)[0]).to.deep.equal(['Error: try 1 failed']);
    for (const span of spans) expect(parentId(span)).to.equal(parent.spanContext().spanId);
    expect(activeInFn, 'fn runs inside its attempt span').to.deep.equal(spans.map(spanId));
    expect(otel.ledger.unended()).to.deep.equal([]);
  });

  it('unnamed: spans called attempt; an unsubscribed attempt ends its span marked cancelled', async () => {
    otel = installOtel({ metrics: false });
    const subscription = attempt(() => new Promise<never>(() => undefined)).subscribe();
    await Promise.resolve();
    subscription.unsubscribe();
    const [span, ...others] = named(otel.spans(), 'attempt');
    expect(others).to.deep.equal([]);
    expect(span === undefined ? undefined : attribute(span, 'ergon.cancelled')).to.equal(
      'unsubscribe',
    );
    expect(otel.ledger.unended()).to.deep.equal([]);
  });

  it('no spans with traces: false, or without a tracer provider', async () => {
    otel = installOtel({ metrics: false });
    await lastValueFrom(attempt(() => 1, undefined, { traces: false }));
    expect(otel.spans()).to.deep.equal([]);
    await otel.release();
    otel = installOtel({ metrics: false, tracing: false });
    expect(await lastValueFrom(attempt(() => 2))).to.equal(2);
  });
});
