import * as t from 'io-ts';
import type { PolicyIssue } from '../core/errors.js';
import { renderValue } from '../core/renderers.js';

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
