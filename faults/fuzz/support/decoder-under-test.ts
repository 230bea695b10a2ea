import fc from 'fast-check';
import { PolicyError } from '../../../lib/index.js';
import { validValue, type FieldKind } from './field-kinds.js';

/** A decoder and the dotted paths of the fields it checks, with their kinds. */
export interface DecoderUnderTest {
  readonly name: string;
  readonly decode: (input: unknown) => unknown;
  readonly fields: Readonly<Record<string, FieldKind>>;
  /** Fields every input needs (a task config's `name` and `run`). */
  readonly required?: readonly string[];
  /** Paths whose keys are free (`connectors`, `fetch.extra`): no "unknown key" there. */
  readonly openPaths?: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A copy of `target` with `value` at the dotted `path`: the objects along the path are
 * copied (or created), the rest is shared, so inputs fast-check generated (and replays while
 * shrinking) are never changed.
 */
export function withValueAt(
  target: Record<string, unknown>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const [key = '', ...rest] = path.split('.');
  if (rest.length === 0) return { ...target, [key]: value };
  const inner = target[key];
  return { ...target, [key]: withValueAt(isRecord(inner) ? inner : {}, rest.join('.'), value) };
}

/** The object paths of a decoder: every proper prefix of a field path. */
export function objectPaths(decoder: DecoderUnderTest): string[] {
  const paths = new Set<string>();
  for (const field of Object.keys(decoder.fields)) {
    const keys = field.split('.');
    for (let i = 1; i < keys.length; i++) paths.add(keys.slice(0, i).join('.'));
  }
  return [...paths];
}

/** A valid input: the required fields and a random subset of the others, each valid. */
export function validInput(decoder: DecoderUnderTest): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries(decoder.fields);
  const required = new Set(decoder.required ?? []);
  return fc
    .tuple(
      fc.subarray(entries.filter(([path]) => !required.has(path))),
      fc.constant(entries.filter(([path]) => required.has(path))),
    )
    .chain(([chosen, needed]) =>
      fc.tuple(
        ...[...needed, ...chosen].map(([path, kind]) =>
          validValue[kind].map((v) => [path, v] as const),
        ),
      ),
    )
    .map((pairs) =>
      pairs.reduce<Record<string, unknown>>(
        (input, [path, value]) => withValueAt(input, path, value),
        {},
      ),
    );
}

/** What a decode did: the decoded value, or the error it threw. */
export type DecodeResult =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

export function attemptDecode(decoder: DecoderUnderTest, input: unknown): DecodeResult {
  try {
    return { ok: true, value: decoder.decode(input) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The paths a {@link PolicyError} names, or a description of the wrong error it is. */
export function namedPaths(result: DecodeResult): string[] {
  if (result.ok) return [];
  if (!(result.error instanceof PolicyError)) {
    throw new TypeError(`expected a PolicyError, got ${String(result.error)}`);
  }
  return result.error.issues.map((issue) => issue.path);
}
