import { scalarCodec } from '../../policy/codecs/values.js';

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
