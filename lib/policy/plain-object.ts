/**
 * Whether `u` is an object literal (or `Object.create(null)`), not an array, class instance or
 * `null`. Never throws (a revoked Proxy is not a plain object).
 */
export function isPlainObject(u: unknown): u is Readonly<Record<string, unknown>> {
  if (typeof u !== 'object' || u === null) return false;
  let prototype: unknown;
  try {
    prototype = Object.getPrototypeOf(u);
  } catch {
    return false;
  }
  return prototype === Object.prototype || prototype === null;
}
