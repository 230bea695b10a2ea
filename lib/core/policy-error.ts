import { ErgonError } from './ergon-error.js';
import { isSecretKey, MASK, maskCredentials } from './mask-credentials.js';

/** One wrong value in a policy or configuration. */
export interface PolicyIssue {
  /** Dotted path of the value, e.g. `loop.concurrency.value` (empty for the root). */
  readonly path: string;
  /** What was expected there, e.g. `positive integer`, or `no such key` for unknown keys. */
  readonly expected: string;
  /** The value that was given, rendered for a log line. */
  readonly actual: string;
}

/**
 * A policy or configuration could not be decoded. The message lists every wrong path, one
 * per line, as `path: expected X, got Y`; `issues` holds the same list for programs. A value
 * under a key named like a secret (`password`, `token`, …) shows as `***`, credentials in
 * other values are masked (`maskCredentials`).
 */
export class PolicyError extends ErgonError {
  readonly issues: readonly PolicyIssue[];
  constructor(subject: string, given: readonly PolicyIssue[]) {
    const issues = given.map((issue) => ({
      ...issue,
      actual: isSecretKey(issue.path) ? MASK : maskCredentials(issue.actual),
    }));
    const lines = issues.map(
      (issue) => `  ${issue.path || '(root)'}: expected ${issue.expected}, got ${issue.actual}`,
    );
    super(`invalid ${subject}:\n${lines.join('\n')}`);
    this.issues = issues;
  }
}
