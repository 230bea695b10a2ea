import { expect } from 'chai';
import {
  retryPolicy,
  RetryPolicyCodec,
  type RetryPolicyInput,
} from '../../lib/policy/retry-policy.js';
import { catchPolicyError, issueLines } from './catch-policy-error.js';

describe('retryPolicy', () => {
  const defaults = {
    maxAttempts: 1,
    timeout: null,
    backoff: 0,
    backoffMultiplier: 2,
    backoffCap: null,
    jitter: 'none',
  };

  it('fills every default when given nothing, undefined, null or {}', () => {
    expect(retryPolicy()).to.deep.equal(defaults);
    expect(retryPolicy(undefined)).to.deep.equal(defaults);
    expect(retryPolicy(null as unknown as RetryPolicyInput)).to.deep.equal(defaults);
    expect(retryPolicy({})).to.deep.equal(defaults);
  });

  it('keeps given values and defaults the rest', () => {
    expect(retryPolicy({ maxAttempts: 3, backoff: 100 })).to.deep.equal({
      ...defaults,
      maxAttempts: 3,
      backoff: 100,
    });
  });

  describe('accepts env-style strings', () => {
    const cases: [RetryPolicyInput, Partial<typeof defaults> | Record<string, unknown>][] = [
      [{ maxAttempts: '3' }, { maxAttempts: 3 }],
      [{ maxAttempts: ' 4 ' }, { maxAttempts: 4 }],
      [{ maxAttempts: '3.0' }, { maxAttempts: 3 }],
      [{ timeout: '2s' }, { timeout: 2000 }],
      [{ timeout: '2.5' }, { timeout: 2.5 }],
      [{ timeout: '' }, { timeout: null }],
      [{ timeout: 'none' }, { timeout: null }],
      [{ timeout: ' NULL ' }, { timeout: null }],
      [{ timeout: null }, { timeout: null }],
      [{ backoff: '250ms' }, { backoff: 250 }],
      [{ backoff: '0' }, { backoff: 0 }],
      [{ backoffMultiplier: '1.5' }, { backoffMultiplier: 1.5 }],
      [{ backoffMultiplier: 1 }, { backoffMultiplier: 1 }],
      [{ backoffCap: '5s' }, { backoffCap: 5000 }],
      [{ backoffCap: 0 }, { backoffCap: 0 }],
      [{ backoffCap: 'none' }, { backoffCap: null }],
      [{ jitter: 'full' }, { jitter: 'full' }],
      [{ jitter: ' EQUAL ' }, { jitter: 'equal' }],
      [{ jitter: true }, { jitter: 'full' }],
      [{ jitter: false }, { jitter: 'none' }],
      [{ jitter: 'on' }, { jitter: 'full' }],
      [{ jitter: '0' }, { jitter: 'none' }],
      [{ jitter: null }, { jitter: 'none' }],
      [{ jitter: '' }, { jitter: 'none' }],
    ];
    for (const [input, expected] of cases) {
      it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
        expect(retryPolicy(input)).to.deep.equal({ ...defaults, ...expected });
      });
    }
  });

  describe('rejects', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ maxAttempts: 0 }, 'maxAttempts: expected positive integer, got 0'],
      [{ maxAttempts: '0' }, 'maxAttempts: expected positive integer, got "0"'],
      [{ maxAttempts: 2.5 }, 'maxAttempts: expected positive integer, got 2.5'],
      [{ maxAttempts: '2.5' }, 'maxAttempts: expected positive integer, got "2.5"'],
      [{ maxAttempts: 'three' }, 'maxAttempts: expected positive integer, got "three"'],
      [{ maxAttempts: null }, 'maxAttempts: expected positive integer, got null'],
      [{ timeout: 0 }, 'timeout: expected positive duration in ms or null, got 0'],
      [{ timeout: '0s' }, 'timeout: expected positive duration in ms or null, got "0s"'],
      [{ timeout: -1 }, 'timeout: expected positive duration in ms or null, got -1'],
      [{ timeout: '-1s' }, 'timeout: expected positive duration in ms or null, got "-1s"'],
      [{ timeout: '2 days' }, 'timeout: expected positive duration in ms or null, got "2 days"'],
      [{ backoff: -5 }, 'backoff: expected non-negative duration in ms, got -5'],
      [{ backoff: null }, 'backoff: expected non-negative duration in ms, got null'],
      [{ backoffMultiplier: 0.5 }, 'backoffMultiplier: expected number ≥ 1, got 0.5'],
      [{ backoffMultiplier: 0 }, 'backoffMultiplier: expected number ≥ 1, got 0'],
      [{ backoffMultiplier: 'x' }, 'backoffMultiplier: expected number ≥ 1, got "x"'],
      [{ backoffCap: -1 }, 'backoffCap: expected non-negative duration in ms or null, got -1'],
      [
        { jitter: 'sometimes' },
        'jitter: expected "none" | "full" | "equal" or boolean, got "sometimes"',
      ],
    ];
    for (const [input, line] of cases) {
      it(line, () => {
        expect(issueLines(() => retryPolicy(input))).to.deep.equal([line]);
      });
    }

    it('non-finite numbers', () => {
      for (const value of [Number.NaN, Infinity, -Infinity]) {
        expect(issueLines(() => retryPolicy({ maxAttempts: value }))).to.have.length(1);
        expect(issueLines(() => retryPolicy({ timeout: value }))).to.have.length(1);
        expect(issueLines(() => retryPolicy({ backoffMultiplier: value }))).to.have.length(1);
      }
    });

    it('unknown keys, suggesting the likely one', () => {
      expect(
        issueLines(() => retryPolicy({ max_attempts: 3, delay: 1 } as RetryPolicyInput)),
      ).to.deep.equal([
        'max_attempts: expected no such key (did you mean "maxAttempts"?), got 3',
        'delay: expected no such key (known keys: maxAttempts, timeout, backoff, ' +
          'backoffMultiplier, backoffCap, jitter), got 1',
      ]);
    });

    it('a non-object input', () => {
      for (const input of [5, 'x', [], true]) {
        expect(issueLines(() => retryPolicy(input as RetryPolicyInput))).to.deep.equal([
          `(root): expected object, got ${JSON.stringify(input)}`,
        ]);
      }
    });

    it('names the subject in the message', () => {
      expect(catchPolicyError(() => retryPolicy({ maxAttempts: 0 })).message).to.equal(
        'invalid retry policy:\n  maxAttempts: expected positive integer, got 0',
      );
    });
  });

  it('decodes its own output to an equal policy', () => {
    const once = retryPolicy({ maxAttempts: '3', timeout: '1s', backoffCap: '', jitter: true });
    expect(retryPolicy(once)).to.deep.equal(once);
    expect(RetryPolicyCodec.is(once)).to.equal(true);
  });
});
