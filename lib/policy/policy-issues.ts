import * as t from 'io-ts';
import type { PolicyIssue } from '../core/policy-error.js';
import { maskCredentials } from '../core/mask-credentials.js';
import { printable } from '../core/printable.js';

const longestValue = 80;

/**
 * Turns io-ts validation errors into readable issues: the dotted path of each wrong value,
 * what was expected there (the error's `message` when a codec set one, else the name of the
 * codec at that path) and the value as JSON. The branch indexes io-ts adds under a union or
 * intersection are not part of the path, and only the first issue per path is kept, so the
 * branches of a union do not repeat the same path.
 */
export function toPolicyIssues(errors: t.Errors): PolicyIssue[] {
  const byPath = new Map<string, PolicyIssue>();
  for (const error of errors) {
    const { path, codecName } = locate(error.context);
    if (byPath.has(path)) continue;
    byPath.set(path, {
      path,
      expected: error.message ?? codecName,
      actual: renderValue(error.value),
    });
  }
  return [...byPath.values()];
}

function locate(context: t.Context): { path: string; codecName: string } {
  const keys: string[] = [];
  let codecName = context[0]?.type.name ?? 'valid value';
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1]?.type;
    const entry = context[i];
    if (
      entry === undefined ||
      parent instanceof t.UnionType ||
      parent instanceof t.IntersectionType
    ) {
      continue;
    }
    keys.push(entry.key);
    codecName = entry.type.name;
  }
  return { path: keys.join('.'), codecName };
}

/**
 * A value as JSON for a log line, shortened when long; numbers such as `NaN` and values JSON
 * cannot hold (`undefined`, functions, cycles, bigints) as `String(value)`, and values that
 * have no string form either (an object without prototype, or an array holding one) by their
 * type tag (`[object Object]`). Credentials are masked (`maskCredentials`) before shortening.
 * Never throws: it renders the bad values of a failed decode.
 */
export function renderValue(value: unknown): string {
  const text = maskCredentials(
    typeof value === 'number' ? String(value) : (asJson(value) ?? printable(value)),
  );
  return text.length > longestValue ? `${text.slice(0, longestValue - 1)}…` : text;
}

function asJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
