import { expect } from 'chai';
import {
  consume,
  consumerTask,
  MemoryConnector,
  type BatchItemResult,
  type Transaction,
} from '../../../lib/index.js';
import { after } from '../support/handlers.js';
import { inVirtualTime, record } from '../support/virtual-time.js';
import {
  attribute,
  installOtel,
  isError,
  linkedSpanIds,
  named,
  parentId,
  renderTree,
  spanId,
  transactionSpan,
  type InstalledOtel,
} from './support/otel.js';

describe('engine telemetry: processBatch spans', () => {
  let otel: InstalledOtel;

  beforeEach(() => {
    otel = installOtel();
  });

  afterEach(async () => {
    await otel.release();
  });

  it('one "process batch" span per call attempt, under the first transaction, linked to the others', () => {
    const connector = new MemoryConnector<string>({ idPrefix: 'tx-', source: ['a', 'b', 'c'] });
    const task = consumerTask({
      name: 'orders',
      processBatch: (txs: readonly Transaction<string>[], { attempt }) => {
        if (attempt === 1) throw new Error('deadlock detected');
        return after(
          1,
          txs.map((tx): BatchItemResult<string> => ({ ok: true, value: tx.payload })),
        );
      },
    });
    inVirtualTime((_helpers, scheduler) => {
      record(
        consume(connector, task, {
          loop: { concurrency: { value: 3 } },
          process: { retry: { maxAttempts: 2, backoff: 0 }, batch: { size: 3 } },
        }),
      );
      scheduler.flush();
    });
    const spans = otel.spans();
    const batches = named(spans, 'process batch');
    expect(batches.map((span) => attribute(span, 'ergon.attempt'))).to.deep.equal([1, 2]);
    expect(batches.map(isError)).to.deep.equal([true, false]);
    const [first, second, third] = ['tx-1', 'tx-2', 'tx-3'].map((id) =>
      transactionSpan(spans, 'orders', id),
    );
    for (const batch of batches) {
      expect(attribute(batch, 'messaging.batch.message_count')).to.equal(3);
      expect(attribute(batch, 'ergon.stage')).to.equal('process');
      expect(parentId(batch)).to.equal(spanId(first!));
      expect(linkedSpanIds(batch)).to.deep.equal([spanId(second!), spanId(third!)]);
    }
    expect(renderTree(spans).filter((line) => line.includes('process'))).to.include(
      '    process batch #2',
    );
  });
});
