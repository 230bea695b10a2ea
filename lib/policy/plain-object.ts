/** Whether `u` is an object literal (or `Object.create(null)`), not an array, class instance or `null`. */
export function isPlainObject(u: unknown): u is Readonly<Record<string, unknown>> {
  if (typeof u !== 'object' || u === null) return false;
  const prototype: unknown = Object.getPrototypeOf(u);
  return prototype === Object.prototype || prototype === null;
}
