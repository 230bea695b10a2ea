import { scalarCodec } from '../../../policy/codecs/values.js';

const forbiddenInName = /[\s.*>/\\]/;

/**
 * A JetStream stream or consumer name: non-empty, without whitespace, `.`, `*`, `>`, `/` or
 * `\` (the server refuses those).
 */
export const JetStreamName = scalarCodec(
  'JetStream name (no whitespace, ".", "*", ">", "/" or "\\")',
  (u): u is string => typeof u === 'string' && u !== '' && !forbiddenInName.test(u),
  (u) => (typeof u === 'string' && u !== '' && !forbiddenInName.test(u) ? u : undefined),
);

function isSubject(u: unknown, wildcards: boolean): u is string {
  if (typeof u !== 'string' || u === '' || /\s/.test(u)) return false;
  const tokens = u.split('.');
  return tokens.every((token, index) => {
    if (token === '') return false;
    if (!wildcards) return !token.includes('*') && !token.includes('>');
    if (token === '*') return true;
    if (token === '>') return index === tokens.length - 1;
    return !token.includes('*') && !token.includes('>');
  });
}

/** A NATS subject to publish to: dot-separated non-empty tokens, no wildcards, no whitespace. */
export const PublishSubject = scalarCodec(
  'NATS subject without wildcards (e.g. "orders.created")',
  (u): u is string => isSubject(u, false),
  (u) => (isSubject(u, false) ? u : undefined),
);

/** A NATS subject filter: like a subject, with `*` tokens and a final `>` allowed. */
export const SubjectFilter = scalarCodec(
  'NATS subject filter (e.g. "orders.>")',
  (u): u is string => isSubject(u, true),
  (u) => (isSubject(u, true) ? u : undefined),
);

/**
 * Whether `filter` (a subject filter with `*` and `>` wildcards) matches `subject`, which may
 * itself hold wildcards (then it must be covered token for token).
 *
 * @example
 * ```ts
 * subjectMatches('orders.>', 'orders.eu.created'); // true
 * subjectMatches('orders.*', 'orders.eu.created'); // false
 * ```
 */
export function subjectMatches(filter: string, subject: string): boolean {
  const filterTokens = filter.split('.');
  const subjectTokens = subject.split('.');
  for (let i = 0; i < filterTokens.length; i++) {
    const token = filterTokens[i];
    if (token === '>') return subjectTokens.length > i;
    const other = subjectTokens[i];
    if (other === undefined) return false;
    if (token === '*') {
      if (other === '>') return false;
      continue;
    }
    if (token !== other) return false;
  }
  return filterTokens.length === subjectTokens.length;
}

const schemes = new Set(['nats:', 'tls:']);

function serverUrl(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const withScheme = trimmed.includes('://') ? trimmed : `nats://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  if (!schemes.has(url.protocol) || url.hostname === '') return undefined;
  if (url.pathname !== '' && url.pathname !== '/') return undefined;
  return withScheme;
}

function serverUrls(u: unknown): readonly string[] | undefined {
  const parts =
    typeof u === 'string' ? u.split(',') : Array.isArray(u) && u.length > 0 ? u : undefined;
  if (parts === undefined) return undefined;
  const urls: string[] = [];
  for (const part of parts) {
    const url = typeof part === 'string' ? serverUrl(part) : undefined;
    if (url === undefined) return undefined;
    urls.push(url);
  }
  return Object.freeze(urls);
}

/**
 * The NATS servers to connect to: one URL, a comma-separated list (as an environment variable
 * spells it) or an array; each `nats://host:port` or `tls://host:port` (user and password or a
 * token may sit in the URL), or a bare `host:port`. Decodes to a frozen array of URLs.
 *
 * @example
 * ```ts
 * NatsServerUrls.decode('nats://a:4222, b:4222'); // right: ['nats://a:4222', 'nats://b:4222']
 * ```
 */
export const NatsServerUrls = scalarCodec<readonly string[]>(
  'NATS server URL(s) such as "nats://127.0.0.1:4222"',
  (u): u is readonly string[] =>
    Array.isArray(u) && u.length > 0 && u.every((url) => typeof url === 'string'),
  serverUrls,
);
