/** What stands in for a masked secret. */
export const MASK = '***';

/**
 * The password of a URL's user info: `scheme://user:password@`. The password runs to the
 * last `@` before white space or a quote, so one with an unescaped `/`, `#`, `?` or `@` (a URL
 * that fails to parse) is masked whole.
 */
const urlPassword = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]*):(?!\*\*\*@)[^\s"'`]*@/gi;

/** A token as the whole user info, `scheme://<token>@` (NATS and Redis accept tokens so). */
const urlToken = /([a-z][a-z0-9+.-]*:\/\/)[^\s:/@"'`]{16,}@/gi;

/** `Authorization` arguments: `Bearer <token>`, `Basic <base64>`. */
const authorization = /\b(Bearer|Basic)\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{8,}/g;

/** A key whose value is a secret: ends with one of these words (`dbPassword`, `x-api-key`). */
const secretKey =
  '[\\w.-]*?(?:password|passwd|pwd|secret|token|api[_-]?key|authorization|private[_-]?key|credentials?)';

/** `key=value` with a secret key (query strings, libpq connection strings, `.env` lines). */
const keyValue = new RegExp(`\\b(${secretKey}=)(?!\\*\\*\\*)[^\\s&;,'"\`}\\]]+`, 'gi');

/** `"key": "value"` and `key: 'value'` with a secret key (JSON and `util.inspect` output). */
const quotedValue = new RegExp(
  `((["'\`]?)\\b${secretKey}\\2\\s*[=:]\\s*)(["'\`])(?:\\\\.|(?!\\3)[^\\\\])*\\3`,
  'gi',
);

const secretKeyName = new RegExp(`^${secretKey}$`, 'i');

/**
 * Whether a key or the last segment of a configuration path names a secret (`password`,
 * `connection.token`, `headers.authorization`, `apiKey`, `x-api-key`, …): its value is never
 * shown.
 *
 * @example
 * ```ts
 * isSecretKey('connection.password'); // true
 * ```
 */
export function isSecretKey(path: string): boolean {
  return secretKeyName.test(path.slice(path.lastIndexOf('.') + 1));
}

/**
 * Masks the credentials in a text before it is logged, thrown, printed or recorded on a span:
 * URL passwords (`nats://user:***@host`), tokens as a URL's user info, `Authorization`
 * arguments (`Bearer ***`) and the values of keys named like secrets (`password`, `token`,
 * `secret`, `apiKey`, `authorization`, …) in query strings, `key=value` pairs, JSON and
 * inspected objects. Every error ergon-rx makes, every error description, configuration issue,
 * log record and exported span goes through it: the one place to extend when a new form of
 * secret turns up. Never throws; a non-string comes back as it is.
 *
 * @example
 * ```ts
 * maskCredentials('cannot connect to nats://ergon:s3cret@nats:4222');
 * // 'cannot connect to nats://ergon:***@nats:4222'
 * maskCredentials('{"authorization":"Bearer abc.def"}'); // '{"authorization":"***"}'
 * ```
 */
export function maskCredentials(text: string): string {
  if (typeof text !== 'string' || text.length === 0) return text;
  return text
    .replace(urlPassword, `$1:${MASK}@`)
    .replace(urlToken, `$1${MASK}@`)
    .replace(quotedValue, `$1$3${MASK}$3`)
    .replace(authorization, `$1 ${MASK}`)
    .replace(keyValue, `$1${MASK}`);
}
