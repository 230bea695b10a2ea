import { expect } from 'chai';
import { decoderProperties } from './support/decoder-properties.js';
import { FuzzTally, SLOW_DECODE_MS } from './support/fuzz-tally.js';
import { taskConfigDecoder } from './support/task-config-decoder.js';

describe('fault: fuzzed task-config decoder (fast-check)', function () {
  const tally = new FuzzTally('task config (defineTask)');

  after(() =>
    tally.record(
      'arbitrary values, valid configs, arbitrary values at each field, one field made invalid, an unknown key',
    ),
  );

  afterEach(function () {
    if (this.currentTest?.state === 'failed') tally.failures++;
    expect(tally.slowestMs, 'no decode takes long').to.be.below(SLOW_DECODE_MS);
  });

  describe('defineTask', () =>
    decoderProperties(taskConfigDecoder, tally, {
      anyValue: 2000,
      valid: 1000,
      anyValueAtAField: 2000,
      invalidField: 2000,
      unknownKey: 800,
    }));
});
