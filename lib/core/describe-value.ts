import { printable } from './printable.js';

/** A short rendering of any value for an error message: its type and a JSON excerpt. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function') {
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
