import { expect } from 'chai';
import { type Backoff, backoffDelay, type Jitter } from '../../lib/policy/backoff.js';
import { MAX_TIMER_DELAY } from '../../lib/policy/codecs/values.js';
import { retryPolicy } from '../../lib/policy/retry-policy.js';

function backoff(
  base: number,
  multiplier: number,
  cap: number | null,
  jitter: Jitter = 'none',
): Backoff {
  return { backoff: base, backoffMultiplier: multiplier, backoffCap: cap, jitter };
}

/** The delays for k = 0, 1, …, count − 1. */
function delays(policy: Backoff, count: number): number[] {
  return Array.from({ length: count }, (_, k) => backoffDelay(policy, k));
}

describe('backoffDelay', () => {
  describe('the reference cases (Python spec §8, 12–16), with an exact cap', () => {
    it('base 0 is always 0; multiplier 1 is constant (reference case 12)', () => {
      expect(backoffDelay(backoff(0, 2, 10), 5)).to.equal(0);
      expect(delays(backoff(2, 1, null), 6)).to.deep.equal([2, 2, 2, 2, 2, 2]);
      expect(delays(backoff(2, 1, 5), 6)).to.deep.equal([2, 2, 2, 2, 2, 2]);
    });

    it('uncapped doubling 1, 2, 4, 8, 16 … 2^20 (reference case 13)', () => {
      expect(delays(backoff(1, 2, null), 5)).to.deep.equal([1, 2, 4, 8, 16]);
      expect(backoffDelay(backoff(1, 2, null), 20)).to.equal(2 ** 20);
    });

    it('the cap is reached exactly (reference case 14; the reference plateaus below it)', () => {
      expect(delays(backoff(1, 2, 5), 5)).to.deep.equal([1, 2, 4, 5, 5]);
      expect(backoffDelay(backoff(1, 2, 5), 10)).to.equal(5); // reference: 4
      expect(backoffDelay(backoff(1, 2, 10), 1000)).to.equal(10);
      expect(backoffDelay(backoff(1, 2, 8), 3)).to.equal(8);
      expect(backoffDelay(backoff(1, 2, 8), 4)).to.equal(8);
      expect(backoffDelay(backoff(1, 2, 3), 10)).to.equal(3); // reference: 2
      expect(backoffDelay(backoff(1, 10, 1000), 5)).to.equal(1000); // reference: 100 (float log)
    });

    it('a cap below the base, fractional bases and multipliers (reference case 15)', () => {
      expect(backoffDelay(backoff(1, 2, 0.5), 0)).to.equal(0.5);
      expect(delays(backoff(3, 2, 3), 4)).to.deep.equal([3, 3, 3, 3]);
      expect(backoffDelay(backoff(5, 3, null), 0)).to.equal(5);
      expect(backoffDelay(backoff(0.1, 2, null), 3)).to.equal(0.8);
      expect(backoffDelay(backoff(10, 1.5, null), 2)).to.equal(22.5);
    });

    it('the default retry policy never waits (reference case 16)', () => {
      expect(delays(retryPolicy(), 4)).to.deep.equal([0, 0, 0, 0]);
    });
  });

  it('reads a cap of 0 as "no delay" (null means no cap)', () => {
    expect(delays(backoff(100, 2, 0), 3)).to.deep.equal([0, 0, 0]);
  });

  it('works in milliseconds from a decoded policy', () => {
    const policy = retryPolicy({ backoff: '1s', backoffCap: '5s' });
    expect(delays(policy, 5)).to.deep.equal([1000, 2000, 4000, 5000, 5000]);
  });

  describe('huge retry indexes', () => {
    it('stay at the cap', () => {
      expect(backoffDelay(backoff(1, 2, 1000), 10_000)).to.equal(1000);
      expect(backoffDelay(backoff(1, 2, 1000), Number.MAX_SAFE_INTEGER)).to.equal(1000);
    });

    it('clamp an uncapped backoff to the longest timer delay, never Infinity or NaN', () => {
      expect(backoffDelay(backoff(1, 2, null), 10_000)).to.equal(MAX_TIMER_DELAY);
      expect(backoffDelay(backoff(1, 2, null), 31)).to.equal(MAX_TIMER_DELAY);
      expect(backoffDelay(backoff(1, 2, null), 30)).to.equal(2 ** 30);
    });

    it('stay 0 for a base of 0, even uncapped', () => {
      expect(backoffDelay(backoff(0, 2, null), 10_000)).to.equal(0);
    });

    it('clamp a cap above the longest timer delay', () => {
      expect(backoffDelay(backoff(1, 2, 2 ** 40), 100)).to.equal(MAX_TIMER_DELAY);
    });
  });

  describe('jitter, with an injected random source', () => {
    const policy = (jitter: Jitter): Backoff => backoff(100, 2, 1000, jitter);

    it('none ignores the random source', () => {
      expect(backoffDelay(policy('none'), 1, () => 0.5)).to.equal(200);
    });

    it('full draws from [0, d)', () => {
      expect(backoffDelay(policy('full'), 1, () => 0)).to.equal(0);
      expect(backoffDelay(policy('full'), 1, () => 0.25)).to.equal(50);
      expect(backoffDelay(policy('full'), 1, () => 0.999)).to.be.closeTo(199.8, 1e-9);
    });

    it('equal draws from [d/2, d)', () => {
      expect(backoffDelay(policy('equal'), 1, () => 0)).to.equal(100);
      expect(backoffDelay(policy('equal'), 1, () => 0.5)).to.equal(150);
      expect(backoffDelay(policy('equal'), 1, () => 0.999)).to.be.closeTo(199.9, 1e-9);
    });

    it('spreads the capped delay', () => {
      expect(backoffDelay(policy('full'), 50, () => 0.5)).to.equal(500);
      expect(backoffDelay(policy('equal'), 50, () => 0.5)).to.equal(750);
    });

    it('uses Math.random by default and stays in bounds', () => {
      for (let i = 0; i < 100; i++) {
        expect(backoffDelay(policy('full'), 2))
          .to.be.at.least(0)
          .and.at.most(400);
        expect(backoffDelay(policy('equal'), 2))
          .to.be.at.least(200)
          .and.at.most(400);
      }
    });
  });

  it('rejects a retry index that is not a non-negative integer', () => {
    for (const k of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
      expect(() => backoffDelay(backoff(1, 2, null), k)).to.throw(
        RangeError,
        `retry index must be a non-negative integer, got ${String(k)}`,
      );
    }
  });
});
