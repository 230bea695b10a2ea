/**
 * `String(value)`, or, for a value with no string form (an object without prototype, one whose
 * `toString` is not a function), its type tag (`[object Object]`). Never throws, so that it can
 * name any bad value in an error message.
 */
export function printable(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return `[${typeof value}]`;
    }
  }
}
