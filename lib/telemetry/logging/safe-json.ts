import { loggedError } from './logged-error.js';

/**
 * `JSON.stringify` for log output: bigints become strings, errors are described (type,
 * message, stack, cause), and an object met again inside itself prints as `"[Circular]"`.
 * Returns `undefined` instead of throwing when a `toJSON` or getter throws.
 *
 * @example
 * ```ts
 * const node: Record<string, unknown> = { n: 1n };
 * node['self'] = node;
 * toSafeJson(node); // '{"n":"1","self":"[Circular]"}'
 * ```
 */
export function toSafeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, safeReplacer());
  } catch {
    return undefined;
  }
}

function safeReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function replace(this: unknown, _key: string, value: unknown): unknown {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return loggedError(value);
    if (typeof value !== 'object' || value === null) return value;
    while (ancestors.length > 0 && ancestors.at(-1) !== this) ancestors.pop();
    if (ancestors.includes(value)) return '[Circular]';
    ancestors.push(value);
    return value;
  };
}
