import { expect } from 'chai';
import { defer, finalize, map, timer, type Observable } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  type AdaptiveMode,
  type Transaction,
} from '../../lib/index.js';
import { inVirtualTime, now, record } from './support/virtual-time.js';

/**
 * A downstream that saturates at 40 concurrent calls: up to 40 a call takes 10 ms, beyond
 * that each call takes longer in proportion (a queue builds), and beyond 60 calls fail with
 * 503 after 5 ms.
 */
class SaturatingDownstream {
  active = 0;
  peak = 0;
  errors = 0;
  readonly inFlightAt: { at: number; active: number }[] = [];

  call(): Observable<number> {
    return defer(() => {
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      this.inFlightAt.push({ at: now(), active: this.active });
      if (this.active > 60) {
        this.errors++;
        return timer(5).pipe(
          map(() => {
            throw Object.assign(new Error('Service Unavailable'), { status: 503 });
          }),
        );
      }
      const latency = 10 * Math.max(1, this.active / 40);
      return timer(latency).pipe(map(() => this.active));
    }).pipe(finalize(() => this.active--));
  }
}

/** Runs `count` transactions against the downstream; returns the run's time and the downstream. */
function runAgainst(
  count: number,
  concurrency: { value: number; adaptive?: AdaptiveMode; min?: number; max?: number },
): { time: number; downstream: SaturatingDownstream; failed: number } {
  return inVirtualTime((_helpers, scheduler) => {
    const downstream = new SaturatingDownstream();
    const connector = new MemoryConnector<number>({
      source: Array.from({ length: count }, (_, i) => i),
    });
    const task = consumerTask({
      process: (_tx: Transaction<number>) => downstream.call(),
    });
    const outcomes = record(
      consume(connector, task, {
        loop: { mode: 'continuous', concurrency },
        process: { retry: { maxAttempts: 10, backoff: 5, backoffMultiplier: 1 } },
      }),
    );
    scheduler.flush();
    const failed = outcomes.values.filter((o) => o.status !== 'success').length;
    return { time: outcomes.completedAt ?? Number.NaN, downstream, failed };
  }, 10_000_000);
}

describe('loop.concurrency.adaptive', () => {
  const count = 6000;
  const best = runAgainst(count, { value: 40 });

  for (const adaptive of ['aimd', 'gradient'] as const) {
    it(`${adaptive}: finds the downstream's knee from a limit of 5 — ≥ 90 % of the best fixed limit's throughput, few overloads`, () => {
      const run = runAgainst(count, { value: 5, adaptive, min: 1, max: 200 });
      expect(run.failed).to.equal(0);
      const ratio = best.time / run.time;
      expect(ratio, `${adaptive} at ${run.time} ms against ${best.time} ms`).to.be.at.least(0.9);
      // It does not sit far past the knee: 503s stay rare.
      expect(run.downstream.errors, 'calls refused with 503').to.be.below(count / 20);
      // Past the first second, in flight hovers around the knee (40), not at max.
      const late = run.downstream.inFlightAt.filter((sample) => sample.at > 1000);
      const average = late.reduce((sum, sample) => sum + sample.active, 0) / late.length;
      expect(average, 'average in flight after 1 s').to.be.within(20, 60);
    });
  }

  it('a fixed limit past the knee overloads the downstream (the control)', () => {
    const run = runAgainst(count, { value: 80 });
    expect(run.downstream.errors).to.be.greaterThan(100);
  });
});
