import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';

/**
 * A codec for an array of `item`s that reports every wrong item at `<path>.<index>` and names
 * itself `list` in errors (io-ts `array` would print the whole item type).
 *
 * @example
 * ```ts
 * listOf(LogSinkConfigCodec).decode(['console', { type: 'file', path: 'app.log' }]);
 * ```
 */
export function listOf<A>(
  item: t.Type<A, A, unknown>,
): t.Type<readonly A[], readonly A[], unknown> {
  return new t.Type<readonly A[], readonly A[], unknown>(
    'list',
    (u): u is readonly A[] => Array.isArray(u) && u.every((element) => item.is(element)),
    (u, c) => {
      if (!Array.isArray(u)) return t.failure(u, c, 'list');
      const errors: t.ValidationError[] = [];
      const decoded: A[] = [];
      u.forEach((element: unknown, index) => {
        const result = item.validate(element, t.appendContext(c, String(index), item, element));
        if (isLeft(result)) errors.push(...result.left);
        else decoded.push(result.right);
      });
      return errors.length > 0 ? t.failures(errors) : t.success(decoded);
    },
    t.identity,
  );
}
