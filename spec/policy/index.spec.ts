import { expect } from 'chai';
import * as policy from '../../lib/policy/index.js';

describe('lib/policy/index', () => {
  it('exports the decoders, codecs and backoff maths', () => {
    expect(Object.keys(policy).sort()).to.deep.equal([
      'BackoffCodec',
      'ConsumerPolicyCodec',
      'DispatchOptionsCodec',
      'MAX_TIMER_DELAY',
      'ProducerPolicyCodec',
      'RateLimitCodec',
      'RetryPolicyCodec',
      'backoffDelay',
      'backoffPolicy',
      'consumerPolicy',
      'dispatchOptions',
      'parseDuration',
      'producerPolicy',
      'rateLimitPolicy',
      'retryPolicy',
    ]);
  });
});
