import type * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';
import { PolicyError } from '../core/errors.js';
import { toPolicyIssues } from './policy-issues.js';

/**
 * Decodes `input` with `codec`, filling defaults.
 *
 * @throws PolicyError naming `subject` and listing every wrong path.
 */
export function decodePolicy<A>(codec: t.Type<A, A, unknown>, subject: string, input: unknown): A {
  const result = codec.decode(input);
  if (isLeft(result)) throw new PolicyError(subject, toPolicyIssues(result.left));
  return result.right;
}
