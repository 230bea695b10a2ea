import { expect } from 'chai';
import fc from 'fast-check';
import { map, merge, timer } from 'rxjs';
import { consume, consumerTask } from '../../../lib/index.js';
import {
  intervalConnector,
  MemoryTickStore,
  type TickMetadata,
} from '../../../lib/connectors/schedule/index.js';
import { inVirtualTime } from '../../engine/support/virtual-time.js';

describe('interval connector properties (virtual time)', () => {
  it('any number of workers sharing a store, any handler durations: every tick due before the stop runs exactly once, in one worker (with room to start it)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 10, max: 500 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('allow' as const, 'skip' as const),
        (workers, every, ticks, durations, overlap) => {
          const stopAt = every * ticks + Math.floor(every / 2);
          const ran: { worker: number; tickAt: string }[] = [];
          let completed = false;
          inVirtualTime(() => {
            const store = new MemoryTickStore();
            let calls = 0;
            const task = consumerTask({
              process: () => timer(durations[calls++ % durations.length] ?? 0),
            });
            const runs = Array.from({ length: workers }, (_, worker) =>
              consume(
                intervalConnector({ every, payload: null, store, overlap, owner: `w${worker}` }),
                task,
                {
                  loop: { mode: 'continuous', streaming: true, concurrency: { value: 256 } },
                  fetch: { empty: { backoff: 0 } },
                },
                { stop$: timer(stopAt) },
              ).pipe(
                map((outcome) => {
                  expect(outcome.status).to.equal('success');
                  ran.push({
                    worker,
                    tickAt: (outcome.transaction.metadata as TickMetadata).tickAt,
                  });
                }),
              ),
            );
            merge(...runs).subscribe({ complete: () => (completed = true) });
          }, 10_000_000);
          expect(completed, 'every worker stopped').to.equal(true);
          const tickTimes = ran.map((entry) => Date.parse(entry.tickAt)).sort((a, b) => a - b);
          expect(new Set(tickTimes).size, 'a tick ran twice').to.equal(tickTimes.length);
          if (overlap === 'allow') {
            expect(tickTimes).to.deep.equal(
              Array.from({ length: ticks }, (_, n) => (n + 1) * every),
            );
          } else {
            for (const time of tickTimes) expect(time % every).to.equal(0);
            expect(tickTimes[0]).to.equal(every);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
