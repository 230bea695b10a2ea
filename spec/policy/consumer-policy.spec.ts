import { expect } from 'chai';
import {
  type ConsumerPolicy,
  consumerPolicy,
  ConsumerPolicyCodec,
  type ConsumerPolicyInput,
} from '../../lib/policy/consumer-policy.js';
import type { RetryPolicy } from '../../lib/policy/retry-policy.js';
import { catchPolicyError, issueLines } from './catch-policy-error.js';

const defaultRetry: RetryPolicy = {
  maxAttempts: 1,
  timeout: null,
  backoff: 0,
  backoffMultiplier: 2,
  backoffCap: null,
  jitter: 'none',
};

const defaults: ConsumerPolicy = {
  name: null,
  loop: {
    mode: 'batch',
    concurrency: { value: 1, adaptive: null, min: 1, max: 1000 },
    keyConcurrency: { value: 1 },
    keyBacklog: null,
    keyRateLimit: null,
    rateLimit: null,
    circuitBreaker: null,
    limit: null,
    timeout: null,
    streaming: false,
    shutdownGrace: 30_000,
  },
  fetch: {
    batch: { size: null, interval: 0 },
    empty: { backoff: 100, backoffMultiplier: 2, backoffCap: 5000, jitter: 'none' },
    retry: defaultRetry,
    extra: {},
  },
  transactionRuntime: { timeout: 60_000, noticeAfter: null },
  process: { retry: { ...defaultRetry, durableAfter: null }, batch: { size: null, maxWait: 20 } },
  success: { retry: defaultRetry },
  exception: { retry: defaultRetry },
};

/** Decodes `input`, then reads `path` (dotted) from the result. */
function decodedAt(input: unknown, path: string): unknown {
  let value: unknown = consumerPolicy(input as ConsumerPolicyInput);
  for (const key of path.split('.')) value = (value as Record<string, unknown>)[key];
  return value;
}

/** `{ a: { b: value } }` for the path `a.b`. */
function inputAt(path: string, value: unknown): ConsumerPolicyInput {
  return path
    .split('.')
    .reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as ConsumerPolicyInput;
}

describe('consumerPolicy', () => {
  describe('defaults', () => {
    it('decodes nothing to the defaults table', () => {
      expect(consumerPolicy()).to.deep.equal(defaults);
      expect(consumerPolicy({})).to.deep.equal(defaults);
      expect(consumerPolicy(null as unknown as ConsumerPolicyInput)).to.deep.equal(defaults);
    });

    it('process.retry.durableAfter: a duration or null; a key of the process stage only', () => {
      expect(
        consumerPolicy({ process: { retry: { durableAfter: '30s' } } }).process.retry.durableAfter,
      ).to.equal(30_000);
      expect(consumerPolicy().process.retry.durableAfter).to.equal(null);
      const lines = issueLines(() =>
        consumerPolicy({
          process: { retry: { durableAfter: 'soon' } },
          success: { retry: { durableAfter: '30s' } as never },
        }),
      );
      expect(lines[0]).to.match(
        /^process\.retry\.durableAfter: expected .*duration.*, got "soon"$/,
      );
      expect(lines[1]).to.match(/^success\.retry\.durableAfter: expected no such key/);
    });

    it('reads null for an object as all its defaults (a YAML key with nothing under it)', () => {
      expect(
        consumerPolicy({
          loop: null,
          fetch: { batch: null, empty: null, retry: null, extra: null },
          transactionRuntime: null,
          process: null,
          success: { retry: null },
        }),
      ).to.deep.equal(defaults);
    });

    it('builds new objects on every call', () => {
      const first = consumerPolicy();
      const second = consumerPolicy();
      expect(first).not.to.equal(second);
      expect(first.loop).not.to.equal(second.loop);
      expect(first.process.retry).not.to.equal(second.process.retry);
    });

    it('lets a streaming loop back off between empty fetches by default', () => {
      expect(consumerPolicy({ loop: { streaming: true } }).fetch.empty).to.deep.equal({
        backoff: 100,
        backoffMultiplier: 2,
        backoffCap: 5000,
        jitter: 'none',
      });
    });

    it('keeps the empty-fetch defaults for keys not given', () => {
      expect(consumerPolicy({ fetch: { empty: { backoff: '1s' } } }).fetch.empty).to.deep.equal({
        backoff: 1000,
        backoffMultiplier: 2,
        backoffCap: 5000,
        jitter: 'none',
      });
    });
  });

  describe('accepts', () => {
    const cases: [string, unknown, unknown][] = [
      ['name', 'orders', 'orders'],
      ['name', '', null],
      ['name', 'none', null],
      ['name', null, null],
      ['loop.mode', 'continuous', 'continuous'],
      ['loop.mode', ' CONTINUOUS ', 'continuous'],
      ['loop.mode', 'Batch', 'batch'],
      ['loop.mode', '', 'batch'],
      ['loop.mode', null, 'batch'],
      ['loop.mode', 'none', 'batch'],
      ['loop.concurrency.value', 8, 8],
      ['loop.concurrency.value', '8', 8],
      ['loop.limit', 0, 0],
      ['loop.limit', '5', 5],
      ['loop.limit', '', null],
      ['loop.limit', 'none', null],
      ['loop.limit', ' Null ', null],
      ['loop.limit', null, null],
      ['loop.timeout', 300, 300],
      ['loop.timeout', '2.5', 2.5],
      ['loop.timeout', '250ms', 250],
      ['loop.timeout', '2s', 2000],
      ['loop.timeout', '1.5s', 1500],
      ['loop.timeout', '1.1s', 1100],
      ['loop.timeout', ' 3S ', 3000],
      ['loop.timeout', '1m', 60_000],
      ['loop.timeout', '1h', 3_600_000],
      ['loop.timeout', '', null],
      ['loop.timeout', 'none', null],
      ['loop.timeout', 'null', null],
      ['loop.streaming', true, true],
      ['loop.streaming', false, false],
      ['loop.streaming', 'true', true],
      ['loop.streaming', '1', true],
      ['loop.streaming', 'yes', true],
      ['loop.streaming', ' ON ', true],
      ['loop.streaming', 'false', false],
      ['loop.streaming', '0', false],
      ['loop.streaming', 'no', false],
      ['loop.streaming', 'Off', false],
      ['loop.shutdownGrace', '10s', 10_000],
      ['loop.shutdownGrace', 0, 0],
      ['fetch.batch.size', 10, 10],
      ['fetch.batch.size', '10', 10],
      ['fetch.batch.size', 'none', null],
      ['fetch.batch.interval', '500ms', 500],
      ['fetch.empty.backoffCap', 'none', null],
      ['fetch.empty.jitter', 'full', 'full'],
      ['fetch.retry.maxAttempts', '3', 3],
      ['fetch.extra', { queue: 'orders', prefetch: 10 }, { queue: 'orders', prefetch: 10 }],
      ['transactionRuntime.timeout', '30s', 30_000],
      ['transactionRuntime.timeout', null, null],
      ['transactionRuntime.timeout', 'none', null],
      ['process.retry.timeout', '5s', 5000],
      ['success.retry.maxAttempts', 2, 2],
      ['exception.retry.backoff', '100ms', 100],
    ];
    for (const [path, given, expected] of cases) {
      it(`${path} ${JSON.stringify(given)} → ${JSON.stringify(expected)}`, () => {
        expect(decodedAt(inputAt(path, given), path)).to.deep.equal(expected);
      });
    }

    it('fetch.extra without validating what it holds', () => {
      const extra = { nested: { anything: [1, 'two', null] }, 'odd key': true };
      expect(consumerPolicy({ fetch: { extra } }).fetch.extra).to.deep.equal(extra);
    });
  });

  describe('rejects', () => {
    const cases: [string, unknown, string][] = [
      ['loop.concurrency.value', 0, 'positive integer'],
      ['loop.concurrency.value', '0', 'positive integer'],
      ['loop.concurrency.value', -1, 'positive integer'],
      ['loop.concurrency.value', 2.5, 'positive integer'],
      ['loop.concurrency.value', '2.5', 'positive integer'],
      ['loop.concurrency.value', 'many', 'positive integer'],
      ['loop.mode', 'turbo', '"batch" | "continuous"'],
      ['loop.mode', 1, '"batch" | "continuous"'],
      ['loop.streaming', 'garbage', 'boolean (true/false, yes/no, on/off, 1/0)'],
      ['loop.streaming', 1, 'boolean (true/false, yes/no, on/off, 1/0)'],
      ['loop.streaming', '', 'boolean (true/false, yes/no, on/off, 1/0)'],
      ['loop.limit', -1, 'non-negative integer or null'],
      ['loop.limit', '2.5', 'non-negative integer or null'],
      ['loop.timeout', 0, 'positive duration in ms or null'],
      ['loop.timeout', -1, 'positive duration in ms or null'],
      ['loop.timeout', '-2s', 'positive duration in ms or null'],
      ['loop.shutdownGrace', -1, 'non-negative duration in ms'],
      ['loop.shutdownGrace', null, 'non-negative duration in ms'],
      ['fetch.batch.size', 0, 'positive integer or null'],
      ['fetch.batch.interval', '1 fortnight', 'non-negative duration in ms'],
      ['fetch.empty.backoffMultiplier', 0.5, 'number ≥ 1'],
      ['fetch.retry.maxAttempts', 0, 'positive integer'],
      ['fetch.extra', 'queue=orders', 'plain object'],
      ['fetch.extra', [1], 'plain object'],
      ['transactionRuntime.timeout', 0, 'positive duration in ms or null'],
      ['transactionRuntime.timeout', -5, 'positive duration in ms or null'],
      ['process.retry.maxAttempts', 0, 'positive integer'],
      ['process.retry.backoffMultiplier', 0.5, 'number ≥ 1'],
      ['success.retry.timeout', -1, 'positive duration in ms or null'],
      ['exception.retry.backoff', -1, 'non-negative duration in ms'],
      ['name', 42, 'string or null'],
    ];
    for (const [path, given, expected] of cases) {
      it(`${path} ${JSON.stringify(given)}: expected ${expected}`, () => {
        expect(issueLines(() => consumerPolicy(inputAt(path, given)))).to.deep.equal([
          `${path}: expected ${expected}, got ${JSON.stringify(given)}`,
        ]);
      });
    }

    it('durations longer than the longest timer delay', () => {
      expect(issueLines(() => consumerPolicy({ loop: { timeout: '30d' } }))).to.deep.equal([
        'loop.timeout: expected positive duration in ms or null, got "30d"',
      ]);
      expect(issueLines(() => consumerPolicy({ loop: { timeout: '600h' } }))).to.deep.equal([
        'loop.timeout: expected duration of at most 2147483647 ms ' +
          '(about 24.8 days, the longest timer delay), got "600h"',
      ]);
    });

    it('unknown keys at every depth, with their path and a likely spelling', () => {
      expect(
        issueLines(() =>
          consumerPolicy({
            naem: 'orders',
            loop: { concurency: 4 },
            fetch: { batch: { sise: 10 }, empty: { cap: 1000 } },
            process: { retry: { maxAttempt: 3 } },
            transaction_runtime: { timeout: 1 },
          } as ConsumerPolicyInput),
        ),
      ).to.deep.equal([
        'loop.concurency: expected no such key (did you mean "concurrency"?), got 4',
        'fetch.batch.sise: expected no such key (did you mean "size"?), got 10',
        'fetch.empty.cap: expected no such key (known keys: backoff, backoffMultiplier, ' +
          'backoffCap, jitter), got 1000',
        'process.retry.maxAttempt: expected no such key (did you mean "maxAttempts"?), got 3',
        'naem: expected no such key (did you mean "name"?), got "orders"',
        'transaction_runtime: expected no such key (did you mean "transactionRuntime"?), ' +
          'got {"timeout":1}',
      ]);
    });

    it('a non-object policy', () => {
      for (const input of [5, 'batch', [], true]) {
        expect(issueLines(() => consumerPolicy(input as ConsumerPolicyInput))).to.deep.equal([
          `(root): expected object, got ${JSON.stringify(input)}`,
        ]);
      }
    });

    it('a non-object where an object is expected', () => {
      expect(
        issueLines(() =>
          consumerPolicy({
            loop: 'x',
            fetch: { batch: 10, retry: 3 },
            process: [],
          } as unknown as ConsumerPolicyInput),
        ),
      ).to.deep.equal([
        'loop: expected object, got "x"',
        'fetch.batch: expected object, got 10',
        'fetch.retry: expected object, got 3',
        'process: expected object, got []',
      ]);
    });

    it('lists every wrong path at once in one message', () => {
      const error = catchPolicyError(() =>
        consumerPolicy({
          loop: { mode: 'turbo', concurrency: { value: 0 }, streaming: 'garbage', concurency: 4 },
          fetch: { retry: { maxAttempts: 0, backoffMultiplier: 0.5, timeout: -1 } },
          transactionRuntime: { timeout: 0 },
        } as ConsumerPolicyInput),
      );
      expect(error.message).to.equal(
        [
          'invalid consumer policy:',
          '  loop.mode: expected "batch" | "continuous", got "turbo"',
          '  loop.concurrency.value: expected positive integer, got 0',
          '  loop.streaming: expected boolean (true/false, yes/no, on/off, 1/0), got "garbage"',
          '  loop.concurency: expected no such key (did you mean "concurrency"?), got 4',
          '  fetch.retry.maxAttempts: expected positive integer, got 0',
          '  fetch.retry.timeout: expected positive duration in ms or null, got -1',
          '  fetch.retry.backoffMultiplier: expected number ≥ 1, got 0.5',
          '  transactionRuntime.timeout: expected positive duration in ms or null, got 0',
        ].join('\n'),
      );
      expect(error.issues).to.have.length(8);
      expect(error.issues[1]).to.deep.equal({
        path: 'loop.concurrency.value',
        expected: 'positive integer',
        actual: '0',
      });
    });

    it('never shows io-ts internal names', () => {
      const error = catchPolicyError(() =>
        consumerPolicy({
          loop: { concurrency: 'x', limit: 'x', timeout: 'x' },
          fetch: 'x',
          process: { retry: 'x' },
        } as unknown as ConsumerPolicyInput),
      );
      expect(error.message).not.to.match(/withDefault|ConsumerPolicy|RetryPolicy|\{ |=>/);
    });
  });

  describe('decoding is idempotent', () => {
    const inputs: ConsumerPolicyInput[] = [
      {},
      {
        name: 'orders',
        loop: { mode: ' Continuous ', concurrency: { value: '4' }, limit: '', streaming: 'on' },
        fetch: {
          batch: { size: 'none', interval: '1s' },
          empty: { backoffCap: 'null', jitter: true },
          retry: { maxAttempts: '3', timeout: '2s' },
          extra: { queue: 'q' },
        },
        transactionRuntime: { timeout: null },
        exception: { retry: { backoff: '1.5s', jitter: 'equal' } },
      },
    ];
    for (const input of inputs) {
      it(`decode(decode(${JSON.stringify(input).slice(0, 40)}…)) equals decode(…)`, () => {
        const once = consumerPolicy(input);
        expect(consumerPolicy(once)).to.deep.equal(once);
        expect(ConsumerPolicyCodec.is(once)).to.equal(true);
      });
    }

    it('a decoded policy is assignable to the input type', () => {
      const input: ConsumerPolicyInput = consumerPolicy();
      expect(consumerPolicy(input)).to.deep.equal(defaults);
    });
  });

  describe('ConsumerPolicyCodec', () => {
    it('decode() returns a Left for a wrong policy instead of throwing', () => {
      const result = ConsumerPolicyCodec.decode({ loop: { concurrency: { value: 0 } } });
      expect(result._tag).to.equal('Left');
    });

    it('is() is false for a partial or over-full policy', () => {
      expect(ConsumerPolicyCodec.is({})).to.equal(false);
      expect(ConsumerPolicyCodec.is({ ...consumerPolicy(), extra: 1 })).to.equal(false);
    });
  });
});
