const decimal = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * Reads a number given as a number or as a decimal string such as `"3"`, `" 2.5 "` or `"-1"`.
 * Returns `undefined` for anything else, including `""`, `"1e3"`, `"0x10"` and non-finite values.
 */
export function parseNumber(u: unknown): number | undefined {
  if (typeof u === 'number') return Number.isFinite(u) ? u : undefined;
  if (typeof u !== 'string') return undefined;
  const text = u.trim();
  if (!decimal.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}
