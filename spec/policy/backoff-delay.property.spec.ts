import { expect } from 'chai';
import fc from 'fast-check';
import { type Backoff, backoffDelay } from '../../lib/policy/backoff.js';
import { MAX_TIMER_DELAY } from '../../lib/policy/codecs/values.js';

const duration = fc.double({ min: 0, max: MAX_TIMER_DELAY, noNaN: true });

const backoffs: fc.Arbitrary<Backoff> = fc.record({
  backoff: duration,
  backoffMultiplier: fc.double({ min: 1, max: 1000, noNaN: true }),
  backoffCap: fc.option(duration, { nil: null }),
  jitter: fc.constantFrom('none', 'full', 'equal'),
});

const retryIndex = fc.oneof(fc.nat(64), fc.nat());

const unitRandom = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('backoffDelay (properties)', () => {
  it('is never NaN, never negative and never above the cap or the longest timer delay', () => {
    fc.assert(
      fc.property(backoffs, retryIndex, unitRandom, (policy, k, r) => {
        const delay = backoffDelay(policy, k, () => r);
        expect(Number.isNaN(delay)).to.equal(false);
        expect(delay).to.be.at.least(0);
        expect(delay).to.be.at.most(policy.backoffCap ?? MAX_TIMER_DELAY);
        expect(delay).to.be.at.most(MAX_TIMER_DELAY);
      }),
    );
  });

  it('without jitter, never decreases as k grows', () => {
    fc.assert(
      fc.property(backoffs, retryIndex, (policy, k) => {
        const exact: Backoff = { ...policy, jitter: 'none' };
        expect(backoffDelay(exact, k + 1)).to.be.at.least(backoffDelay(exact, k));
      }),
    );
  });

  it('without jitter, is min(cap, backoff × multiplier^k) while that fits a timer', () => {
    fc.assert(
      fc.property(backoffs, fc.nat(20), (policy, k) => {
        const exact: Backoff = { ...policy, jitter: 'none' };
        const grown = policy.backoff * policy.backoffMultiplier ** k;
        fc.pre(grown <= MAX_TIMER_DELAY);
        expect(backoffDelay(exact, k)).to.equal(Math.min(grown, policy.backoffCap ?? grown));
      }),
    );
  });

  it('with jitter, stays within [0, d] (full) and [d/2, d] (equal)', () => {
    fc.assert(
      fc.property(backoffs, retryIndex, unitRandom, (policy, k, r) => {
        const d = backoffDelay({ ...policy, jitter: 'none' }, k);
        const full = backoffDelay({ ...policy, jitter: 'full' }, k, () => r);
        const equal = backoffDelay({ ...policy, jitter: 'equal' }, k, () => r);
        expect(full).to.be.within(0, d);
        expect(equal).to.be.within(d / 2, d);
      }),
    );
  });
});
