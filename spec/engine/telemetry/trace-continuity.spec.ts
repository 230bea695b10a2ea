import { expect } from 'chai';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { lastValueFrom, map, mergeMap, timer, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createDispatcher,
  createTransaction,
  MemoryConnector,
  type ConsumerPolicyInput,
  type Transaction,
} from '../../../lib/index.js';
import {
  childrenOf,
  installOtel,
  linkedSpanIds,
  named,
  parentId,
  single,
  spanId,
  traceId,
  traceparentOf,
  transactionSpan,
  type InstalledOtel,
} from './support/otel.js';

interface Forwarded {
  readonly from: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The only `process attempt` span under `task`'s transaction span of `id`. */
function onlyAttempt(spans: readonly ReadableSpan[], task: string, id: string): ReadableSpan {
  const attempts = childrenOf(spans, transactionSpan(spans, task, id)).filter(
    (span) => span.name === 'process attempt',
  );
  expect(attempts, `${task} ${id}`).to.have.length(1);
  return attempts[0] as ReadableSpan;
}

describe('engine telemetry: trace continuity across a memory-connector hop (real timers)', () => {
  let otel: InstalledOtel;

  beforeEach(() => {
    otel = installOtel({ metrics: false });
  });

  afterEach(async () => {
    await otel.release();
  });

  /** Task B: records the traceparent each forwarded transaction arrived with. */
  const receiver = (arrived: Map<string, unknown>) =>
    consumerTask({
      name: 'stage-b',
      process: (tx: Transaction<Forwarded>) => {
        arrived.set(tx.id, tx.metadata['traceparent']);
        return timer(1).pipe(map(() => tx.payload.from));
      },
    });

  it('A consumes, dispatches through createDispatcher; B continues the trace of the A attempt that sent', async () => {
    const inbox = new MemoryConnector<string>({
      record: true,
      idPrefix: 'tx-',
      source: ['x', 'y', 'z'],
    });
    const queue = new MemoryConnector<Forwarded>({ record: true, idPrefix: 'tx-' });
    const outbox = createDispatcher(queue, { batch: 3, maxWait: 50 }, { name: 'outbox' });
    const forwarder = consumerTask({
      name: 'stage-a',
      // The send is subscribed inside an RxJS timer callback: its context must still be A's.
      process: (tx: Transaction<string>) =>
        timer(1).pipe(
          mergeMap(() => outbox.send(createTransaction({ from: tx.id }, { id: `${tx.id}:out` }))),
        ),
    });
    const batchOf3: ConsumerPolicyInput = {
      loop: { mode: 'batch', concurrency: { value: 3 } },
      fetch: { batch: { size: 3 } },
    };
    const sent = await lastValueFrom(consume(inbox, forwarder, batchOf3).pipe(toArray()));
    expect(sent.map((outcome) => outcome.status)).to.deep.equal(['success', 'success', 'success']);
    const arrived = new Map<string, unknown>();
    const received = await lastValueFrom(
      consume(queue, receiver(arrived), batchOf3).pipe(toArray()),
    );
    expect(received.map((outcome) => outcome.status)).to.deep.equal([
      'success',
      'success',
      'success',
    ]);

    const spans = otel.spans();
    const batchA = single(spans, 'batch stage-a');
    const batchB = single(spans, 'batch stage-b');
    const attemptsA = ['tx-1', 'tx-2', 'tx-3'].map((id) => onlyAttempt(spans, 'stage-a', id));
    for (const [index, attemptA] of attemptsA.entries()) {
      const id = `tx-${index + 1}:out`;
      const transactionB = transactionSpan(spans, 'stage-b', id);
      // The message carried the context of the A attempt that created it…
      expect(arrived.get(id), id).to.equal(traceparentOf(attemptA));
      // …so B's transaction continues that trace, as a child of that attempt.
      expect(traceId(transactionB), id).to.equal(traceId(attemptA));
      expect(parentId(transactionB), id).to.equal(spanId(attemptA));
      expect(transactionB.parentSpanContext?.isRemote, id).to.equal(true);
      expect(linkedSpanIds(transactionB), `${id} links to its batch`).to.deep.equal([
        spanId(batchB),
      ]);
      // B's attempts are in the same trace.
      for (const attemptB of childrenOf(spans, transactionB)) {
        expect(traceId(attemptB)).to.equal(traceId(attemptA));
      }
    }
    // One distributed trace: A's batch, A's transactions, B's transactions.
    expect(new Set(attemptsA.map(traceId))).to.deep.equal(new Set([traceId(batchA)]));
    expect(new Set(named(spans, 'process stage-b').map(traceId))).to.deep.equal(
      new Set([traceId(batchA)]),
    );
    // B's batch span is a trace of its own, linked to the run and to each producer.
    const runB = single(spans, 'consume stage-b');
    expect(parentId(batchB)).to.equal(undefined);
    expect(linkedSpanIds(batchB).sort()).to.deep.equal(
      [spanId(runB), ...attemptsA.map(spanId)].sort(),
    );
  });

  it("the dispatcher's send span is a PRODUCER child of the first sender, linked to the others", async () => {
    const inbox = new MemoryConnector<string>({
      record: true,
      idPrefix: 'tx-',
      source: ['x', 'y', 'z'],
    });
    const queue = new MemoryConnector<Forwarded>({ record: true, idPrefix: 'tx-' });
    const outbox = createDispatcher(queue, { batch: 3, maxWait: 50 }, { name: 'outbox' });
    const forwarder = consumerTask({
      name: 'stage-a',
      process: (tx: Transaction<string>) =>
        timer(1).pipe(
          mergeMap(() => outbox.send(createTransaction({ from: tx.id }, { id: `${tx.id}:out` }))),
        ),
    });
    await lastValueFrom(
      consume(inbox, forwarder, {
        loop: { mode: 'batch', concurrency: { value: 3 } },
        fetch: { batch: { size: 3 } },
      }).pipe(toArray()),
    );
    const spans = otel.spans();
    const attemptIds = ['tx-1', 'tx-2', 'tx-3'].map((id) =>
      spanId(onlyAttempt(spans, 'stage-a', id)),
    );
    const send = single(spans, 'send outbox');
    expect(send.kind).to.equal(SpanKind.PRODUCER);
    expect(send.attributes).to.deep.include({
      'ergon.attempt': 1,
      'messaging.operation.type': 'send',
      'messaging.batch.message_count': 3,
    });
    const parent = parentId(send) ?? 'none';
    expect(attemptIds).to.include(parent);
    expect(linkedSpanIds(send).sort()).to.deep.equal(
      attemptIds.filter((id) => id !== parent).sort(),
    );
    expect(traceId(send)).to.equal(traceId(single(spans, 'batch stage-a')));
    expect(otel.ledger.unended()).to.deep.equal([]);
    expect(otel.diagnostics.spanMisuse()).to.deep.equal([]);
  });

  it('continuous mode, async handler awaiting the send: still one trace per message', async () => {
    const inbox = new MemoryConnector<string>({
      record: true,
      idPrefix: 'tx-',
      source: ['x', 'y'],
    });
    const queue = new MemoryConnector<Forwarded>({ record: true, idPrefix: 'tx-' });
    const outbox = createDispatcher(queue, { batch: 1, maxWait: 0 }, { name: 'outbox' });
    const forwarder = consumerTask({
      name: 'stage-a',
      process: async (tx: Transaction<string>) => {
        await sleep(1);
        await lastValueFrom(
          outbox.send(createTransaction({ from: tx.id }, { id: `${tx.id}:out` })),
        );
        return tx.id;
      },
    });
    const continuous: ConsumerPolicyInput = {
      loop: { mode: 'continuous', concurrency: { value: 2 } },
    };
    await lastValueFrom(consume(inbox, forwarder, continuous).pipe(toArray()));
    const arrived = new Map<string, unknown>();
    await lastValueFrom(consume(queue, receiver(arrived), continuous).pipe(toArray()));

    const spans = otel.spans();
    const runB = single(spans, 'consume stage-b');
    for (const id of ['tx-1', 'tx-2']) {
      const transactionA = transactionSpan(spans, 'stage-a', id);
      const attemptA = onlyAttempt(spans, 'stage-a', id);
      const transactionB = transactionSpan(spans, 'stage-b', `${id}:out`);
      expect(arrived.get(`${id}:out`)).to.equal(traceparentOf(attemptA));
      expect(traceId(transactionB)).to.equal(traceId(transactionA));
      expect(parentId(transactionB)).to.equal(spanId(attemptA));
      // No batch span in continuous mode: linked to B's run instead.
      expect(linkedSpanIds(transactionB)).to.deep.equal([spanId(runB)]);
    }
    // Two messages, two traces (each transaction of a continuous A starts its own).
    expect(new Set(named(spans, 'process stage-b').map(traceId)).size).to.equal(2);
  });
});
