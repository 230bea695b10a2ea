import { expect } from 'chai';
import { lastValueFrom, of, Subject, tap, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  MemoryConnector,
  processWith,
  produce,
  producerTask,
  type Transaction,
} from '../../lib/index.js';

describe('re-entrancy: a subscriber that stops or completes the run inside next', () => {
  const double = consumerTask({ process: async (tx: Transaction<number>) => tx.payload * 2 });

  it('consume: stop$ fired while the last outcome passes still delivers that outcome', async () => {
    const connector = new MemoryConnector({ record: true, idPrefix: 'tx-', source: [1, 2, 3] });
    const stop$ = new Subject<void>();
    let seen = 0;
    const outcomes = await lastValueFrom(
      consume(connector, double, { loop: { streaming: true } }, { stop$ }).pipe(
        tap(() => ++seen === 3 && stop$.next()),
        toArray(),
      ),
    );
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal([
      'success',
      'success',
      'success',
    ]);
    expect(connector.counts.ack).to.equal(3);
  });

  it('processWith: a source completed while the last outcome passes still delivers it', async () => {
    const source = new Subject<Transaction<number>>();
    const result = lastValueFrom(
      source.pipe(
        processWith(double),
        tap((outcome) => outcome.transaction.payload === 2 && source.complete()),
        toArray(),
      ),
    );
    source.next(createTransaction(1));
    source.next(createTransaction(2));
    const outcomes = await result;
    expect(outcomes.map((outcome) => outcome.transaction.payload)).to.deep.equal([1, 2]);
  });

  it('produce: a source completed while an outcome passes still delivers every outcome', async () => {
    const source = new Subject<number>();
    const sink = new MemoryConnector<number>({ record: true, idPrefix: 'tx-' });
    const result = lastValueFrom(
      source.pipe(
        produce(sink, producerTask<number>(), { loop: { batch: { size: 1, maxWait: 0 } } }),
        tap((outcome) => outcome.transaction.payload === 2 && source.complete()),
        toArray(),
      ),
    );
    source.next(1);
    source.next(2);
    expect((await result).map((outcome) => outcome.status)).to.deep.equal(['success', 'success']);
    expect(sink.dispatched).to.have.length(2);
    expect(await lastValueFrom(of(sink.dispatchCount))).to.equal(2);
  });
});
