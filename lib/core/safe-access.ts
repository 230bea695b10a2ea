/**
 * Reads of values the engine did not make (anything a handler throws or returns) that never
 * throw: a revoked Proxy throws on `instanceof` and on every property read, and a getter may
 * throw on read.
 */

/** `value instanceof type`, or `false` when the check itself throws. */
export function isInstance(
  value: unknown,
  type: abstract new (...args: never[]) => unknown,
): boolean {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** What {@link readProperty} returns when the read threw. */
export const unreadable: unique symbol = Symbol('unreadable');

/**
 * `value[key]`, or {@link unreadable} when the read throws (a throwing getter, a revoked
 * Proxy); `undefined` for `null` and `undefined`.
 */
export function readProperty(value: unknown, key: PropertyKey): unknown {
  if (value === null || value === undefined) return undefined;
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch {
    return unreadable;
  }
}
