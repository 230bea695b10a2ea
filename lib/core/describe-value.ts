import { printable } from './printable.js';
import { readProperty } from './safe-access.js';

/**
 * A short rendering of any value for an error message: its type and a JSON excerpt. Never
 * throws (a revoked Proxy, a throwing getter or an object without prototype included).
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') {
    const name = readProperty(value, 'name');
    return `function ${typeof name === 'string' && name !== '' ? name : '(anonymous)'}`;
  }
  if (typeof value === 'object' && typeof readProperty(value, 'then') === 'function') {
    return 'a Promise';
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  const text = json ?? printable(value);
  return `${typeof value} ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
}
