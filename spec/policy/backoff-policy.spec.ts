import { expect } from 'chai';
import { BackoffCodec, type BackoffInput, backoffPolicy } from '../../lib/policy/backoff.js';
import { issueLines } from './catch-policy-error.js';

describe('backoffPolicy', () => {
  it('fills the defaults: no delay, multiplier 2, no cap, no jitter', () => {
    expect(backoffPolicy()).to.deep.equal({
      backoff: 0,
      backoffMultiplier: 2,
      backoffCap: null,
      jitter: 'none',
    });
  });

  it('accepts durations with units and env-style strings', () => {
    expect(
      backoffPolicy({
        backoff: '100ms',
        backoffMultiplier: '3',
        backoffCap: '5s',
        jitter: 'EQUAL',
      }),
    ).to.deep.equal({ backoff: 100, backoffMultiplier: 3, backoffCap: 5000, jitter: 'equal' });
  });

  it('rejects retry-only keys, since a backoff has no attempts', () => {
    expect(issueLines(() => backoffPolicy({ maxAttempts: 3 } as BackoffInput))).to.deep.equal([
      'maxAttempts: expected no such key (known keys: backoff, backoffMultiplier, backoffCap, ' +
        'jitter), got 3',
    ]);
  });

  it('names the subject in the message', () => {
    expect(() => backoffPolicy({ backoff: -1 })).to.throw(
      'invalid backoff policy:\n  backoff: expected non-negative duration in ms, got -1',
    );
  });

  it('decodes its own output to an equal backoff', () => {
    const once = backoffPolicy({ backoff: '1s', jitter: true });
    expect(backoffPolicy(once)).to.deep.equal(once);
    expect(BackoffCodec.is(once)).to.equal(true);
  });
});
