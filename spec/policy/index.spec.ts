import { expect } from 'chai';
import * as policy from '../../lib/policy/index.js';

describe('lib/policy/index', () => {
  it('exports the decoders, codecs and backoff maths', () => {
    expect(Object.keys(policy).sort()).to.deep.equal([
      'BackoffCodec',
      'ConsumerPolicyCodec',
      'DispatchOptionsCodec',
      'LoopRateLimitCodec',
      'MAX_TIMER_DELAY',
      'ProducerPolicyCodec',
      'RateLimitCodec',
      'RateLimiterUnavailableError',
      'RetryPolicyCodec',
      'backoffDelay',
      'backoffPolicy',
      'consumerPolicy',
      'dispatchOptions',
      'isRateLimiter',
      'parseDuration',
      'producerPolicy',
      'rateLimitPolicy',
      'retryPolicy',
    ]);
  });
});
