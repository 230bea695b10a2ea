import { expect } from 'chai';
import type { Observable } from 'rxjs';
import { consume, consumerTask, RateLimitedError, type Transaction } from '../../../lib/index.js';
import { after, failAfter } from '../support/handlers.js';
import { TestConnector } from '../support/test-connector.js';
import { inVirtualTime, record } from '../support/virtual-time.js';
import { installOtel } from './support/otel.js';

describe('consumer.rate_limit.pauses', () => {
  it('counts each pause a "too many requests" starts (not each refused attempt inside one pause)', async () => {
    const otel = installOtel({ tracing: false, contexts: false });
    try {
      inVirtualTime((_helpers, scheduler) => {
        const calls = new Map<string, number>();
        const task = consumerTask({
          name: 'throttled',
          process: (tx: Transaction<string>): Observable<string> => {
            const call = (calls.get(tx.payload) ?? 0) + 1;
            calls.set(tx.payload, call);
            // a and b are both refused during the first pause; a once more after it.
            const refused = (tx.payload === 'a' && call <= 2) || (tx.payload === 'b' && call === 1);
            return refused ? failAfter(1, new RateLimitedError(50)) : after(1, tx.payload);
          },
        });
        record(
          consume(new TestConnector<string>({ source: ['a', 'b', 'c'] }), task, {
            loop: { concurrency: { value: 2 } },
          }),
        );
        scheduler.flush();
      });
      const metrics = await otel.reader.ergonMetrics();
      expect(metrics.sum('consumer.rate_limit.pauses', { task: 'throttled' })).to.equal(2);
    } finally {
      await otel.release();
    }
  });
});
