import { expect } from 'chai';
import fc from 'fast-check';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import {
  createTransaction,
  TransactionError,
  type Outcome,
  type OutcomeStatus,
} from '../../lib/index.js';
import { DashboardConfigCodec } from '../../lib/runner/index.js';
import { bucketQuantile } from '../../lib/telemetry/metrics-reading.js';
import { RunMonitor } from '../../lib/dashboard/run-monitor.js';
import { decodePolicy } from '../../lib/policy/codecs/structures.js';

const histogram = fc
  .uniqueArray(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 12 })
  .map((bounds) => bounds.sort((a, b) => a - b).map((ms) => ms / 1000))
  .chain((boundaries) =>
    fc.record({
      boundaries: fc.constant(boundaries),
      counts: fc
        .array(fc.nat(50), { minLength: boundaries.length + 1, maxLength: boundaries.length + 1 })
        .filter((counts) => counts.some((count) => count > 0)),
    }),
  );

function outcome(status: OutcomeStatus, id: string): Outcome {
  const transaction = createTransaction(null, { id });
  const error = new TransactionError(`process of ${id} failed`, { stage: 'process' });
  switch (status) {
    case 'success':
      return { status, transaction, result: null };
    case 'exception':
      return { status, transaction, error, handled: null };
    case 'failed':
      return { status, transaction, error };
    case 'timeout':
      return { status, transaction, error, handled: false };
    case 'released':
      return { status, transaction, reason: 'shutdown' };
  }
}

describe('dashboard monitor (properties)', () => {
  it('a latency percentile stays within the range of the buckets and never falls as q grows', () => {
    fc.assert(
      fc.property(
        histogram,
        fc.double({ min: 0, max: 1, noNaN: true }),
        ({ boundaries, counts }, q) => {
          const value = bucketQuantile(boundaries, counts, q);
          expect(value).to.be.a('number');
          expect(value!).to.be.at.least(0);
          expect(value!).to.be.at.most(boundaries.at(-1)! * 1000 + 1e-9);
          const higher = bucketQuantile(boundaries, counts, Math.min(1, q + 0.1));
          expect(higher!).to.be.at.least(value! - 1e-9);
        },
      ),
    );
  });

  it('keeps the last `failures` failed, timed-out and handled transactions, newest first, each once', () => {
    const statuses = fc.constantFrom<OutcomeStatus>(
      'success',
      'exception',
      'failed',
      'timeout',
      'released',
    );
    fc.assert(
      fc.property(
        fc.array(statuses, { maxLength: 80 }),
        fc.integer({ min: 1, max: 20 }),
        (run, kept) => {
          const settings = decodePolicy(DashboardConfigCodec, 'dashboard', {
            port: 0,
            failures: kept,
          });
          const monitor = new RunMonitor(
            settings,
            {
              task: 't',
              mode: 'single',
              phase: () => 'running',
              inFlight: () => 0,
              health: () => ({ alive: true, ready: true, problems: [] }),
            },
            new VirtualTimeScheduler(VirtualAction, 0),
          );
          run.forEach((status, i) => monitor.record(outcome(status, `tx-${i}`)));
          const failing = run
            .map((status, i) => ({ status, id: `tx-${i}` }))
            .filter(({ status }) => status !== 'success' && status !== 'released');
          const expected = failing.slice(-kept).reverse();
          const listed = monitor.failures();
          expect(listed.map((failure) => failure.transactionId)).to.deep.equal(
            expected.map(({ id }) => id),
          );
          for (const failure of listed) {
            expect(failure.stage).to.equal('process');
            expect(failure.deadLettered).to.equal(failure.status !== 'exception');
          }
          monitor.stop();
        },
      ),
    );
  });
});
