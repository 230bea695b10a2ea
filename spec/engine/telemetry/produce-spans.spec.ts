import { expect } from 'chai';
import { SpanKind } from '@opentelemetry/api';
import { from } from 'rxjs';
import {
  createTransaction,
  MemoryConnector,
  produce,
  producerTask,
  type DispatchReport,
  type ProducerPolicyInput,
  type Transaction,
} from '../../../lib/index.js';
import { after as emitAfter } from '../support/handlers.js';
import { inVirtualTime, record } from '../support/virtual-time.js';
import {
  attribute,
  exceptions,
  installOtel,
  isError,
  linkedSpanIds,
  named,
  parentId,
  renderTree,
  single,
  spanId,
  traceId,
  traceparentOf,
  transactionSpan,
  type InstalledOtel,
} from './support/otel.js';

interface Row {
  readonly n: number;
}

const inputs = (metadata: Record<string, string> = {}): Transaction<number>[] =>
  [1, 2, 3].map((n) => createTransaction(n, { id: `in-${n}`, metadata }));

/** `prepare` turns n into { n }, after 2 ms; in-2's first attempt fails. */
const exporter = producerTask({
  name: 'exporter',
  prepare: (tx: Transaction<number>, ctx) => {
    if (tx.id === 'in-2' && ctx.attempt === 1) throw new Error('not ready yet');
    return emitAfter(2, { n: tx.payload });
  },
});

const policy: ProducerPolicyInput = {
  loop: { concurrency: { value: 3 }, batch: { size: 3, maxWait: 50 } },
  prepare: { retry: { maxAttempts: 2 } },
};

/** Produces in-1…in-3 to `target` in virtual time; returns the messages now queued there. */
function runProducer(
  target: MemoryConnector<Row>,
  extra: ProducerPolicyInput = {},
  metadata: Record<string, string> = {},
): Transaction<Row>[] {
  inVirtualTime((_helpers, scheduler) => {
    const run = record(
      from(inputs(metadata)).pipe(produce(target, exporter, { ...policy, ...extra })),
    );
    scheduler.flush();
    expect(
      run.values.map((outcome) => `${outcome.transaction.id}:${outcome.status}`),
    ).to.deep.equal(['in-1:success', 'in-2:success', 'in-3:success']);
    expect(run.completedAt).to.be.a('number');
  });
  const queued: Transaction<Row>[] = [];
  target.fetch({ size: 10, extra: {} }).subscribe((tx) => queued.push(tx));
  return queued;
}

describe('engine telemetry: produce', () => {
  let otel: InstalledOtel;

  beforeEach(() => {
    otel = installOtel();
  });

  afterEach(async () => {
    await otel.release();
  });

  const expectEverySpanEndedOnce = (): void => {
    expect(otel.ledger.unended(), 'spans never ended').to.deep.equal([]);
    expect(otel.diagnostics.spanMisuse(), 'OpenTelemetry diag complaints').to.deep.equal([]);
  };

  it('has exactly this span tree: transactions → prepare attempts and the send span; the run', () => {
    runProducer(new MemoryConnector<Row>());
    expect(renderTree(otel.spans())).to.deep.equal([
      'process exporter in-1 =success',
      '  prepare attempt #1',
      '  send exporter #1',
      'process exporter in-2 =success',
      '  prepare attempt #1 ERROR',
      '  prepare attempt #2',
      'process exporter in-3 =success',
      '  prepare attempt #1',
      'produce exporter',
    ]);
    expectEverySpanEndedOnce();
  });

  it('transaction spans: operation name prepare, each a new trace linked to the run span', () => {
    runProducer(new MemoryConnector<Row>());
    const spans = otel.spans();
    const runSpan = single(spans, 'produce exporter');
    expect(runSpan.kind).to.equal(SpanKind.INTERNAL);
    for (const id of ['in-1', 'in-2', 'in-3']) {
      const transaction = transactionSpan(spans, 'exporter', id);
      expect(transaction.attributes).to.deep.include({
        'ergon.transaction.id': id,
        'messaging.message.id': id,
        'messaging.operation.name': 'prepare',
        'ergon.outcome': 'success',
      });
      expect(parentId(transaction)).to.equal(undefined);
      expect(linkedSpanIds(transaction)).to.deep.equal([spanId(runSpan)]);
    }
    const attempts = named(spans, 'prepare attempt');
    expect(attempts.map((span) => attribute(span, 'ergon.stage'))).to.deep.equal([
      'prepare',
      'prepare',
      'prepare',
      'prepare',
    ]);
    const failed = attempts.filter(isError);
    expect(failed.map(exceptions)).to.deep.equal([['Error: not ready yet']]);
  });

  it('the send span: PRODUCER, child of the first transaction, linked to the others', () => {
    runProducer(new MemoryConnector<Row>());
    const spans = otel.spans();
    const send = single(spans, 'send exporter');
    const [first, second, third] = ['in-1', 'in-2', 'in-3'].map((id) =>
      transactionSpan(spans, 'exporter', id),
    ) as [(typeof spans)[0], (typeof spans)[0], (typeof spans)[0]];
    expect(send.kind).to.equal(SpanKind.PRODUCER);
    expect(parentId(send)).to.equal(spanId(first));
    expect(traceId(send)).to.equal(traceId(first));
    expect(linkedSpanIds(send)).to.deep.equal([spanId(second), spanId(third)]);
    expect(send.attributes).to.deep.include({
      'ergon.stage': 'dispatch',
      'ergon.attempt': 1,
      'messaging.operation.type': 'send',
      'messaging.batch.message_count': 3,
    });
    expect(isError(send)).to.equal(false);
  });

  it('dispatched messages carry the traceparent of the transaction that created them', () => {
    const queued = runProducer(new MemoryConnector<Row>());
    const spans = otel.spans();
    expect(queued.map((tx) => tx.id)).to.deep.equal(['in-1', 'in-2', 'in-3']);
    for (const message of queued) {
      expect(message.metadata['traceparent'], message.id).to.equal(
        traceparentOf(transactionSpan(spans, 'exporter', message.id)),
      );
    }
  });

  it('a dispatch retry: two send spans, the first ERROR; messages still carry the transaction context', () => {
    const target = new MemoryConnector<Row>({
      onDispatch: (_batch, call): DispatchReport<Row> | undefined => {
        if (call === 1) throw new Error('broker refused');
        return undefined;
      },
    });
    const queued = runProducer(target, {
      dispatch: { retry: { maxAttempts: 2, backoff: 5 } },
    });
    const spans = otel.spans();
    const sends = named(spans, 'send exporter').sort(
      (a, b) => Number(attribute(a, 'ergon.attempt')) - Number(attribute(b, 'ergon.attempt')),
    );
    expect(sends.map((span) => attribute(span, 'ergon.attempt'))).to.deep.equal([1, 2]);
    expect(sends.map(isError)).to.deep.equal([true, false]);
    expect(sends.map(exceptions)).to.deep.equal([['Error: broker refused'], []]);
    const first = transactionSpan(spans, 'exporter', 'in-1');
    expect(sends.map(parentId)).to.deep.equal([spanId(first), spanId(first)]);
    for (const message of queued) {
      expect(message.metadata['traceparent'], message.id).to.equal(
        traceparentOf(transactionSpan(spans, 'exporter', message.id)),
      );
    }
    expectEverySpanEndedOnce();
  });

  it("inputs carrying a traceparent: the producer continues that trace, and forwards its own span's", () => {
    const upstream = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const queued = runProducer(new MemoryConnector<Row>(), {}, { traceparent: upstream });
    const spans = otel.spans();
    for (const message of queued) {
      const transaction = transactionSpan(spans, 'exporter', message.id);
      expect(traceId(transaction)).to.equal('0af7651916cd43dd8448eb211c80319c');
      expect(parentId(transaction)).to.equal('b7ad6b7169203331');
      expect(message.metadata['traceparent']).to.equal(traceparentOf(transaction));
    }
  });

  it('records the producer metrics', async () => {
    const target = new MemoryConnector<Row>({
      onDispatch: (_batch, call): DispatchReport<Row> | undefined => {
        if (call === 1) throw new Error('broker refused');
        return undefined;
      },
    });
    runProducer(target, { dispatch: { retry: { maxAttempts: 2 } } });
    const metrics = await otel.reader.ergonMetrics();
    const task = { task: 'exporter' };
    expect(metrics.sum('producer.transactions.total', { ...task, status: 'success' })).to.equal(3);
    expect(metrics.histogram('producer.transactions.duration', task).count).to.equal(3);
    expect(metrics.sum('producer.transactions.in_flight', task)).to.equal(0);
    expect(
      metrics.sum('producer.lifecycle.attempts', { ...task, stage: 'prepare', outcome: 'ok' }),
    ).to.equal(3);
    expect(
      metrics.sum('producer.lifecycle.attempts', { ...task, stage: 'prepare', outcome: 'error' }),
    ).to.equal(1);
    expect(
      metrics.sum('producer.lifecycle.outcome', { ...task, stage: 'prepare', outcome: 'ok' }),
    ).to.equal(3);
    expect(metrics.sum('dispatch.batches.total', { ...task, success: 'true' })).to.equal(1);
    expect(metrics.sum('dispatch.batches.total', { ...task, success: 'false' })).to.equal(0);
    expect(metrics.histogram('dispatch.batch_size', task)).to.deep.equal({ count: 1, sum: 3 });
    expect(metrics.sum('producer.batches.total', task)).to.equal(1);
    expect(metrics.names().filter((name) => name.startsWith('consumer.'))).to.deep.equal([]);
  });
});
