import { expect } from 'chai';
import { from, map, NEVER, Observable, timer } from 'rxjs';
import {
  consumerTask,
  createDispatcher,
  createTransaction,
  dispatchTo,
  MemoryConnector,
  processWith,
  produce,
  producerTask,
  runTransaction,
  type Transaction,
} from '../../../lib/index.js';
import { after as emitAfter } from '../support/handlers.js';
import { inVirtualTime, record } from '../support/virtual-time.js';
import {
  installOtel,
  linkedSpanIds,
  named,
  parentId,
  renderTree,
  single,
  spanId,
  traceId,
  type InstalledOtel,
} from './support/otel.js';

/**
 * Every runner ends every span it starts exactly once, whether it completes, errors or is
 * unsubscribed. The SDK refuses a second `end()` and reports it through `diag` ("You can only
 * call end() on a span once"), which is what these specs watch, with a span processor that
 * checks nothing stays open.
 */
describe('engine telemetry: every span is ended exactly once', () => {
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

  const echo = consumerTask({
    name: 'echo',
    process: (tx: Transaction<string>) => emitAfter(3, tx.payload),
  });

  it('runTransaction (processWith) that completes', () => {
    inVirtualTime((_helpers, scheduler) => {
      const run = record(runTransaction(echo, createTransaction('a', { id: 'one' })));
      scheduler.flush();
      expect(run.values.map((outcome) => outcome.status)).to.deep.equal(['success']);
    });
    const spans = otel.spans();
    expect(renderTree(spans)).to.deep.equal([
      'consume echo',
      'process echo one =success',
      '  process attempt #1',
    ]);
    expect(linkedSpanIds(single(spans, 'process echo'))).to.deep.equal([
      spanId(single(spans, 'consume echo')),
    ]);
    expectEverySpanEndedOnce();
  });

  it('processWith whose source errors', () => {
    inVirtualTime((_helpers, scheduler) => {
      const source = new Observable<Transaction<string>>((subscriber) => {
        subscriber.next(createTransaction('a', { id: 'one' }));
        subscriber.error(new Error('source broke'));
      });
      const run = record(source.pipe(processWith(echo)));
      scheduler.flush();
      expect(run.error).to.be.instanceOf(Error);
    });
    expect(named(otel.spans(), 'consume echo')).to.have.length(1);
    expectEverySpanEndedOnce();
  });

  it('processWith that is unsubscribed while a transaction runs', () => {
    const stuck = consumerTask({ name: 'stuck', process: (): Observable<never> => NEVER });
    inVirtualTime((_helpers, scheduler) => {
      const run = record(from([createTransaction('a', { id: 'one' })]).pipe(processWith(stuck)));
      scheduler.schedule(() => run.subscription.unsubscribe(), 5);
      scheduler.flush();
    });
    const spans = otel.spans();
    expect(single(spans, 'process stuck').attributes['ergon.release.reason']).to.equal(
      'unsubscribe',
    );
    single(spans, 'process attempt');
    single(spans, 'consume stuck');
    expectEverySpanEndedOnce();
  });

  it('dispatchTo that completes', () => {
    const target = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
    inVirtualTime((_helpers, scheduler) => {
      const run = record(
        from(['a', 'b', 'c'].map((payload) => createTransaction(payload))).pipe(
          dispatchTo(target, { batch: 2, maxWait: 5 }, { name: 'sink' }),
        ),
      );
      scheduler.flush();
      expect(run.completedAt).to.be.a('number');
    });
    const spans = otel.spans();
    single(spans, 'produce sink');
    expect(named(spans, 'send sink')).to.have.length(2);
    expect(target.dispatched).to.have.length(3);
    expectEverySpanEndedOnce();
  });

  it('dispatchTo from a source with no active span: sends under the run span, messages traced', () => {
    const target = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
    inVirtualTime((_helpers, scheduler) => {
      record(
        from(['a', 'b', 'c'].map((payload) => createTransaction(payload))).pipe(
          dispatchTo(target, { batch: 3, maxWait: 5 }, { name: 'sink' }),
        ),
      );
      scheduler.flush();
    });
    const spans = otel.spans();
    const runSpan = single(spans, 'produce sink');
    const send = single(spans, 'send sink');
    expect(parentId(send), 'the send span hangs under the run span').to.equal(spanId(runSpan));
    const queued: Transaction<string>[] = [];
    target.fetch({ size: 10, extra: {} }).subscribe((tx) => queued.push(tx));
    for (const message of queued) {
      expect(message.metadata['traceparent'], 'a dispatched message carries a traceparent').to.be.a(
        'string',
      );
      expect(String(message.metadata['traceparent']).split('-')[1]).to.equal(traceId(send));
    }
  });

  it('dispatchTo that is unsubscribed', () => {
    const target = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
    inVirtualTime((_helpers, scheduler) => {
      const run = record(
        timer(1, 100).pipe(
          map((n) => createTransaction(`m${n}`)),
          dispatchTo(target, { batch: 10, maxWait: 1000 }, { name: 'sink' }),
        ),
      );
      scheduler.schedule(() => run.subscription.unsubscribe(), 250);
      scheduler.flush();
    });
    single(otel.spans(), 'produce sink');
    expectEverySpanEndedOnce();
  });

  it('createDispatcher: a send span per batch, no run span', () => {
    const target = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
    const outbox = createDispatcher(target, { batch: 2, maxWait: 5 }, { name: 'outbox' });
    inVirtualTime((_helpers, scheduler) => {
      const run = record(outbox.send(['a', 'b', 'c'].map((payload) => createTransaction(payload))));
      scheduler.flush();
      expect(run.completedAt).to.be.a('number');
    });
    const spans = otel.spans();
    expect(spans.map((span) => span.name).sort()).to.deep.equal(['send outbox', 'send outbox']);
    expectEverySpanEndedOnce();
  });

  it('produce that is unsubscribed mid-prepare and mid-batch', () => {
    const target = new MemoryConnector<number>({ record: true, idPrefix: 'tx-' });
    const slow = producerTask({
      name: 'slow',
      prepare: (tx: Transaction<number>) => emitAfter(tx.payload * 10, tx.payload),
    });
    inVirtualTime((_helpers, scheduler) => {
      const run = record(
        from([1, 2, 3]).pipe(
          produce(target, slow, {
            loop: { concurrency: { value: 3 }, batch: { size: 5, maxWait: 1000 } },
          }),
        ),
      );
      scheduler.schedule(() => run.subscription.unsubscribe(), 25);
      scheduler.flush();
    });
    const spans = otel.spans();
    expect(named(spans, 'process slow')).to.have.length(3);
    for (const span of named(spans, 'process slow')) {
      expect(span.attributes['ergon.outcome']).to.equal('released');
    }
    single(spans, 'produce slow');
    expectEverySpanEndedOnce();
  });
});
