import { expect } from 'chai';
import { UnexpectedReplyError } from '../../../lib/connectors/redis/errors.js';
import { readGroupEntries } from '../../../lib/connectors/redis/internal/stream-entry.js';

describe('Redis stream replies', () => {
  it('an unexpected reply with no string form is an UnexpectedReplyError, not a TypeError', () => {
    // Found by the body-decoder fuzz (faults/fuzz): String() of this object throws.
    expect(() => readGroupEntries([{ toString: false }]))
      .to.throw(UnexpectedReplyError)
      .with.property('message')
      .that.includes('unexpected reply to XREADGROUP');
  });
});
