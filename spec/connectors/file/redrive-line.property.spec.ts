import { expect } from 'chai';
import fc from 'fast-check';
import {
  readRedriveLine,
  redriveLine,
  type RedriveEnvelope,
} from '../../../lib/connectors/file/internal/redrive-line.js';

// docs/connectors/file.md, "Dead letters and redrive": a redriven line carries its payload
// line, id and trace context through the source file unchanged, on one line; any other line
// is left to the connector's `parse`.

const envelope: fc.Arbitrary<RedriveEnvelope> = fc.record(
  {
    of: fc.string(),
    id: fc.string(),
    trace: fc.dictionary(fc.constantFrom('traceparent', 'tracestate'), fc.string()),
  },
  { requiredKeys: ['of', 'trace'] },
);

describe('file connector redrive lines (property)', () => {
  it('any envelope and payload line come back as they were written, from a single line', () => {
    fc.assert(
      fc.property(envelope, fc.string(), (written, line) => {
        const text = redriveLine(written, line);
        expect(text).to.not.contain('\n');
        expect(readRedriveLine(text)).to.deep.equal({ envelope: written, line });
      }),
    );
  });

  it('a payload line that is not an envelope is never read as one', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (payload) => {
        const text = JSON.stringify(payload);
        fc.pre(!text.startsWith('{"ergon-redrive":'));
        expect(readRedriveLine(text)).to.equal(undefined);
      }),
    );
    // Looking like one is not enough: the envelope must be whole.
    expect(readRedriveLine('{"ergon-redrive":{"id":"x"},"line":"{}"}')).to.equal(undefined);
    expect(readRedriveLine('{"ergon-redrive":{"of":"d#0"},"line":42}')).to.equal(undefined);
    expect(readRedriveLine('{"ergon-redrive":{"of":"d#0"},"line":"{}"')).to.equal(undefined);
  });
});
