import { expect } from 'chai';
import { decoderProperties } from './support/decoder-properties.js';
import { FuzzTally, SLOW_DECODE_MS } from './support/fuzz-tally.js';
import { policyDecoders } from './support/policy-decoders.js';

describe('fault: fuzzed policy decoders (fast-check)', function () {
  const tally = new FuzzTally('policy decoders (lib/policy)');

  after(() =>
    tally.record(
      `${policyDecoders.map((d) => d.name).join(', ')}: arbitrary values, valid inputs, arbitrary values at each field, one field made invalid, an unknown key`,
    ),
  );

  afterEach(function () {
    if (this.currentTest?.state === 'failed') tally.failures++;
    expect(tally.slowestMs, 'no decode takes long').to.be.below(SLOW_DECODE_MS);
  });

  for (const decoder of policyDecoders) {
    describe(decoder.name, () =>
      decoderProperties(decoder, tally, {
        anyValue: 1500,
        valid: 800,
        anyValueAtAField: 1000,
        invalidField: 1500,
        unknownKey: 500,
      }),
    );
  }
});
