import { expect } from 'chai';
import {
  type ProducerPolicy,
  producerPolicy,
  ProducerPolicyCodec,
  type ProducerPolicyInput,
} from '../../lib/policy/producer-policy.js';
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

const defaults: ProducerPolicy = {
  name: null,
  loop: {
    concurrency: { value: 1 },
    batch: { size: 100, maxWait: 100 },
    limit: null,
    timeout: null,
  },
  transactionRuntime: { timeout: 60_000, noticeAfter: null },
  prepare: { retry: defaultRetry },
  success: { retry: defaultRetry },
  exception: { retry: defaultRetry },
  dispatch: { retry: defaultRetry, concurrency: { value: 1 }, rateLimit: null },
};

describe('producerPolicy', () => {
  it('decodes nothing to the defaults table', () => {
    expect(producerPolicy()).to.deep.equal(defaults);
    expect(producerPolicy({})).to.deep.equal(defaults);
    expect(producerPolicy({ loop: null, dispatch: null })).to.deep.equal(defaults);
  });

  it('accepts env-style strings', () => {
    expect(
      producerPolicy({
        name: 'exporter',
        loop: {
          concurrency: { value: '4' },
          batch: { size: '500', maxWait: '1s' },
          limit: '1000',
          timeout: '10m',
        },
        transactionRuntime: { timeout: 'none' },
        dispatch: {
          retry: { maxAttempts: '5', backoff: '100ms', backoffCap: '10s' },
          concurrency: { value: '3' },
        },
      }),
    ).to.deep.equal({
      ...defaults,
      name: 'exporter',
      loop: {
        concurrency: { value: 4 },
        batch: { size: 500, maxWait: 1000 },
        limit: 1000,
        timeout: 600_000,
      },
      transactionRuntime: { timeout: null, noticeAfter: null },
      dispatch: {
        retry: { ...defaultRetry, maxAttempts: 5, backoff: 100, backoffCap: 10_000 },
        concurrency: { value: 3 },
        rateLimit: null,
      },
    });
  });

  it('accepts a batch of one with no wait', () => {
    expect(producerPolicy({ loop: { batch: { size: 1, maxWait: 0 } } }).loop.batch).to.deep.equal({
      size: 1,
      maxWait: 0,
    });
  });

  it('rejects every wrong value and unknown key at once', () => {
    expect(
      issueLines(() =>
        producerPolicy({
          loop: {
            concurrency: { value: 0 },
            batch: { size: 0, maxWait: -1, max_wait: 5 },
            limit: -1,
            timeout: 0,
          },
          transactionRuntime: { timeout: '0ms' },
          prepare: { retry: { maxAttempts: '2.5' } },
          dispatch: { retry: { backoffMultiplier: '0.5' }, retyr: 3 },
          fetch: {},
        } as ProducerPolicyInput),
      ),
    ).to.deep.equal([
      'loop.concurrency.value: expected positive integer, got 0',
      'loop.batch.size: expected positive integer, got 0',
      'loop.batch.maxWait: expected non-negative duration in ms, got -1',
      'loop.batch.max_wait: expected no such key (did you mean "maxWait"?), got 5',
      'loop.limit: expected non-negative integer or null, got -1',
      'loop.timeout: expected positive duration in ms or null, got 0',
      'transactionRuntime.timeout: expected positive duration in ms or null, got "0ms"',
      'prepare.retry.maxAttempts: expected positive integer, got "2.5"',
      'dispatch.retry.backoffMultiplier: expected number ≥ 1, got "0.5"',
      'dispatch.retyr: expected no such key (did you mean "retry"?), got 3',
      'fetch: expected no such key (known keys: name, loop, transactionRuntime, prepare, ' +
        'success, exception, dispatch), got {}',
    ]);
  });

  it('rejects a non-object where an object is expected', () => {
    expect(
      issueLines(() => producerPolicy({ loop: { batch: 10 } } as unknown as ProducerPolicyInput)),
    ).to.deep.equal(['loop.batch: expected object, got 10']);
    expect(catchPolicyError(() => producerPolicy(7 as ProducerPolicyInput)).message).to.equal(
      'invalid producer policy:\n  (root): expected object, got 7',
    );
  });

  it('decodes its own output to an equal policy', () => {
    const once = producerPolicy({ loop: { batch: { size: '10', maxWait: '2s' }, limit: 'none' } });
    const input: ProducerPolicyInput = once;
    expect(producerPolicy(input)).to.deep.equal(once);
    expect(ProducerPolicyCodec.is(once)).to.equal(true);
  });
});
