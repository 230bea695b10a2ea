import { expect } from 'chai';
import fc from 'fast-check';
import { PolicyError } from '../../../lib/index.js';
import {
  attemptDecode,
  namedPaths,
  objectPaths,
  withValueAt,
  validInput,
  type DecodeResult,
  type DecoderUnderTest,
} from './decoder-under-test.js';
import { invalidValue } from './field-kinds.js';
import type { FuzzTally } from './fuzz-tally.js';

/** Any value a config file, an environment or a careless caller could hand a decoder. */
const anyInput: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.anything({
    maxDepth: 3,
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
  }),
);

/** How many inputs each property tries. */
export interface FuzzRuns {
  readonly anyValue: number;
  readonly valid: number;
  readonly anyValueAtAField: number;
  readonly invalidField: number;
  readonly unknownKey: number;
}

function check(tally: FuzzTally, decoder: DecoderUnderTest, input: unknown): DecodeResult {
  const result = tally.time(() => attemptDecode(decoder, input));
  if (result.ok) {
    tally.accepted++;
    // What is accepted is valid: decoding it again gives the same value.
    expect(decoder.decode(result.value)).to.deep.equal(result.value);
  } else {
    tally.rejected++;
    expect(result.error).to.be.instanceOf(PolicyError);
    const error = result.error as PolicyError;
    expect(error.issues).to.not.be.empty;
    for (const issue of error.issues) {
      expect(error.message).to.include(`${issue.path || '(root)'}: expected ${issue.expected}`);
    }
  }
  return result;
}

/**
 * The fuzz properties every decoder must hold, as mocha tests: any value gives a decoded
 * value that decodes to itself or a `PolicyError` whose message names every issue's path,
 * never another throw; valid inputs are accepted; any value at a known field is accepted or
 * rejected at (or under) that path; a field made invalid is rejected naming that exact path;
 * an unknown key is rejected naming its full path.
 */
export function decoderProperties(
  decoder: DecoderUnderTest,
  tally: FuzzTally,
  runs: FuzzRuns,
): void {
  const paths = Object.keys(decoder.fields);
  const objects = objectPaths(decoder);

  it('any value: a valid result or a PolicyError naming every bad path, never another throw', () => {
    fc.assert(
      fc.property(anyInput, (input) => void check(tally, decoder, input)),
      { numRuns: runs.anyValue },
    );
  });

  it('a valid input of any shape is accepted', () => {
    fc.assert(
      fc.property(validInput(decoder), (input) => {
        const result = check(tally, decoder, input);
        expect(result.ok, namedPaths(result).join(', ')).to.equal(true);
      }),
      { numRuns: runs.valid },
    );
  });

  it('any value at a known field of a valid input: accepted, or rejected at or under that path only', () => {
    const mutation = fc.record({
      path: fc.constantFrom(...paths, ...objects),
      value: anyInput,
      base: validInput(decoder),
    });
    fc.assert(
      fc.property(mutation, ({ path, value, base }) => {
        for (const named of namedPaths(check(tally, decoder, withValueAt(base, path, value)))) {
          expect(
            named === path || named.startsWith(`${path}.`),
            `${named} named for a value set at ${path}`,
          ).to.equal(true);
        }
      }),
      { numRuns: runs.anyValueAtAField },
    );
  });

  it('one field made invalid in a valid input: rejected, naming that exact path', () => {
    const mutation = fc.constantFrom(...paths).chain((path) =>
      fc.record({
        path: fc.constant(path),
        bad: invalidValue[decoder.fields[path] ?? 'positiveInteger'],
        base: validInput(decoder),
      }),
    );
    fc.assert(
      fc.property(mutation, ({ path, bad, base }) => {
        const result = check(tally, decoder, withValueAt(base, path, bad));
        expect(result.ok, `accepted ${String(bad)} at ${path}`).to.equal(false);
        expect(namedPaths(result)).to.include(path);
      }),
      { numRuns: runs.invalidField },
    );
  });

  it('an unknown key anywhere: rejected, naming its full path', () => {
    const known = new Set([...paths, ...objects, ...(decoder.openPaths ?? [])]);
    const extra = fc.record({
      at: fc.constantFrom('', ...objects.filter((o) => !decoder.openPaths?.includes(o))),
      key: fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !k.includes('.')),
      value: fc.jsonValue({ maxDepth: 1 }),
      base: validInput(decoder),
    });
    fc.assert(
      fc.property(extra, ({ at, key, value, base }) => {
        const path = at === '' ? key : `${at}.${key}`;
        fc.pre(!known.has(path) && !['__proto__', 'constructor'].includes(key));
        const result = check(tally, decoder, withValueAt(base, path, value));
        expect(result.ok, `accepted unknown key ${path}`).to.equal(false);
        expect(namedPaths(result)).to.include(path);
      }),
      { numRuns: runs.unknownKey },
    );
  });
}
