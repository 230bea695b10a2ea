import { expect } from 'chai';
import fc from 'fast-check';
import {
  context,
  trace,
  type Attributes,
  type Context,
  type Link,
  type SpanKind,
} from '@opentelemetry/api';
import {
  ParentBasedSampler,
  SamplingDecision,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-node';
import {
  consume,
  consumerTask,
  createTransaction,
  MemoryConnector,
  traceHeaders,
  type Transaction,
} from '../../../lib/index.js';
import { transactionIdIn } from '../../../lib/telemetry/index.js';
import { inVirtualTime, record } from '../support/virtual-time.js';
import { installOtel, named, renderTree, type InstalledOtel } from './support/otel.js';

/**
 * Parent-based (the SDK's default shape) with a root decision by span name, counting every
 * time the SDK asks it: the SDK asks on every span it starts, so the count says how many
 * spans the engine started through it.
 */
class CountingSampler implements Sampler {
  readonly asked: string[] = [];
  private readonly inner: Sampler;

  constructor(sampleRoot: (spanName: string) => boolean) {
    const root: Sampler = {
      shouldSample: (_context, _traceId, spanName): SamplingResult => ({
        decision: sampleRoot(spanName)
          ? SamplingDecision.RECORD_AND_SAMPLED
          : SamplingDecision.NOT_RECORD,
      }),
    };
    this.inner = new ParentBasedSampler({ root });
  }

  shouldSample(
    parent: Context,
    traceId: string,
    spanName: string,
    ...rest: [SpanKind, Attributes, Link[]]
  ): SamplingResult {
    this.asked.push(spanName);
    return this.inner.shouldSample(parent, traceId, spanName, ...rest);
  }
}

/** What a handler saw of its active span context, and the traceparent it would send on. */
interface Seen {
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  readonly sampled: boolean | undefined;
  readonly sent: string | undefined;
  /** The transaction id the active context names (what log records carry). */
  readonly transactionId: string | undefined;
}

const observingTask = (seen: Map<string, Seen>, name = 'sampled') =>
  consumerTask({
    name,
    process: (tx: Transaction<string>) => {
      const active = trace.getSpanContext(context.active());
      seen.set(tx.id, {
        traceId: active?.traceId,
        spanId: active?.spanId,
        sampled: active === undefined ? undefined : (active.traceFlags & 1) === 1,
        sent: traceHeaders(createTransaction('out'))['traceparent'],
        transactionId: transactionIdIn(context.active()),
      });
      return tx.payload;
    },
  });

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
const traceparent = (n: number, sampled: boolean): string =>
  `00-${hex(n + 1, 32)}-${hex(n + 1, 16)}-${sampled ? '01' : '00'}`;

function consumeAll(
  payloads: readonly { id: string; traceparent?: string }[],
  seen: Map<string, Seen>,
  mode: 'batch' | 'continuous',
  concurrency = 2,
): void {
  const source = new MemoryConnector<string>();
  for (const entry of payloads) {
    source.enqueue(
      createTransaction(entry.id, {
        id: entry.id,
        metadata: entry.traceparent === undefined ? {} : { traceparent: entry.traceparent },
      }),
    );
  }
  inVirtualTime((_helpers, scheduler) => {
    const run = record(
      consume(source, observingTask(seen), {
        loop: { mode, concurrency: { value: concurrency } },
      }),
    );
    scheduler.flush();
    expect(run.completedAt).to.be.a('number');
    expect(run.values).to.have.length(payloads.length);
  });
}

describe('engine telemetry: unsampled traces skip the SDK', () => {
  let otel: InstalledOtel;
  let sampler: CountingSampler;

  afterEach(async () => {
    await otel.release();
  });

  describe('a batch the sampler dropped (batch mode)', () => {
    beforeEach(() => {
      sampler = new CountingSampler((name) => !name.startsWith('batch '));
      otel = installOtel({ metrics: false, sampler });
    });

    it('starts no SDK span for its transactions and attempts; handlers still see its trace, unsampled', () => {
      const seen = new Map<string, Seen>();
      consumeAll(
        ['a', 'b', 'c', 'd'].map((id) => ({ id })),
        seen,
        'batch',
      );
      // The run span and one batch span per fetch of 2: nothing per transaction or attempt.
      expect(sampler.asked).to.deep.equal(['consume sampled', 'batch sampled', 'batch sampled']);
      expect(renderTree(otel.spans())).to.deep.equal(['consume sampled']);
      const a = seen.get('a');
      const c = seen.get('c');
      expect(a?.sampled).to.equal(false);
      expect(a?.traceId).to.match(/^[0-9a-f]{32}$/);
      expect(seen.get('b')?.traceId, 'one trace per batch').to.equal(a?.traceId);
      expect(c?.traceId, 'the next batch is another trace').not.to.equal(a?.traceId);
      // What a handler sends on continues the batch's trace, unsampled.
      expect(a?.sent).to.equal(`00-${String(a?.traceId)}-${String(a?.spanId)}-00`);
      // Its logs name the transaction.
      expect([...seen].map(([id, entry]) => [id, entry.transactionId])).to.deep.equal([
        ['a', 'a'],
        ['b', 'b'],
        ['c', 'c'],
        ['d', 'd'],
      ]);
    });
  });

  describe('producer contexts (continuous mode, every root sampled)', () => {
    beforeEach(() => {
      sampler = new CountingSampler(() => true);
      otel = installOtel({ metrics: false, sampler });
    });

    it('a transaction whose producer did not sample its trace costs no SDK call; a sampled one is traced', () => {
      const seen = new Map<string, Seen>();
      consumeAll(
        [
          { id: 'off', traceparent: traceparent(1, false) },
          { id: 'on', traceparent: traceparent(2, true) },
        ],
        seen,
        'continuous',
      );
      expect(sampler.asked).to.deep.equal([
        'consume sampled',
        'fetch attempt',
        'process sampled',
        'process attempt',
      ]);
      expect(renderTree(otel.spans())).to.deep.equal([
        'consume sampled',
        '  fetch attempt #1',
        'process sampled on =success',
        '  process attempt #1',
      ]);
      expect(seen.get('off')).to.deep.equal({
        traceId: hex(2, 32),
        spanId: hex(2, 16),
        sampled: false,
        sent: traceparent(1, false),
        transactionId: 'off',
      });
      expect(seen.get('on')?.traceId).to.equal(hex(3, 32));
      expect(seen.get('on')?.sampled).to.equal(true);
    });

    it('property: spans exactly for the sampled producers; every handler sees its producer trace with its flag', () => {
      fc.assert(
        fc.property(
          fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }),
          fc.constantFrom('batch' as const, 'continuous' as const),
          fc.integer({ min: 1, max: 4 }),
          (flags, mode, concurrency) => {
            otel.exporter.reset();
            sampler.asked.length = 0;
            const seen = new Map<string, Seen>();
            const payloads = flags.map((sampled, i) => ({
              id: `t${i}`,
              traceparent: traceparent(i, sampled),
            }));
            consumeAll(payloads, seen, mode, concurrency);
            const sampledCount = flags.filter(Boolean).length;
            const spans = otel.spans();
            const traced = named(spans, 'process sampled')
              .map((span) => String(span.attributes['ergon.transaction.id']))
              .sort();
            expect(traced).to.deep.equal(
              payloads
                .filter((_, i) => flags[i])
                .map((p) => p.id)
                .sort(),
            );
            expect(named(spans, 'process attempt')).to.have.length(sampledCount);
            // The SDK is asked for the run, each batch (batch mode), and the sampled
            // transactions and attempts only.
            const perTransaction = sampler.asked.filter(
              (name) => name === 'process sampled' || name === 'process attempt',
            );
            expect(perTransaction).to.have.length(2 * sampledCount);
            flags.forEach((sampled, i) => {
              const view = seen.get(`t${i}`);
              expect(view?.traceId).to.equal(hex(i + 1, 32));
              expect(view?.sampled).to.equal(sampled);
              if (!sampled) expect(view?.sent).to.equal(traceparent(i, false));
            });
          },
        ),
        { numRuns: 60 },
      );
    });
  });
});
