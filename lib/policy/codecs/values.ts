import * as t from 'io-ts';

/**
 * The longest delay in milliseconds a JavaScript timer honours (2³¹ − 1, about 24.8 days).
 * Node runs a longer `setTimeout` (and so an RxJS `timer`) after 1 ms instead, so no policy
 * duration and no backoff delay is ever larger than this.
 */
export const MAX_TIMER_DELAY = 2_147_483_647;

/**
 * A codec for one policy value that may arrive in a looser form (a string from an environment
 * variable, say). `coerce` returns the decoded value, or `undefined` when the input is not
 * acceptable; `name` is the readable type shown in errors (`positive integer`, …).
 *
 * Hand-written because `coerce` may change the value (`"3"` → 3, `" JSON "` → `json`), which
 * `t.refinement` cannot: a codec that only checks its input is `t.refinement(t.unknown, is, name)`.
 */
export function scalarCodec<A>(
  name: string,
  is: (u: unknown) => u is A,
  coerce: (u: unknown) => A | undefined,
): t.Type<A, A> {
  return new t.Type<A, A, unknown>(
    name,
    is,
    (u, c) => {
      const value = coerce(u);
      return value === undefined ? t.failure(u, c) : t.success(value);
    },
    t.identity,
  );
}

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

/** An integer as a policy accepts it: a number or a decimal string such as `"3"`. */
export type IntegerInput = number | string;

function integerAtLeast(minimum: number, name: string): t.Type<number, number> {
  const allowed = (n: number): boolean => Number.isSafeInteger(n) && n >= minimum;
  return scalarCodec(
    name,
    (u): u is number => typeof u === 'number' && allowed(u),
    (u) => {
      const n = parseNumber(u);
      return n !== undefined && allowed(n) ? n : undefined;
    },
  );
}

/** An integer ≥ 1, as a number or a string (`"3"`; `"2.5"` is rejected). */
export const PositiveInteger = integerAtLeast(1, 'positive integer');

/** An integer ≥ 0, as a number or a string. */
export const NonNegativeInteger = integerAtLeast(0, 'non-negative integer');

/**
 * A TCP port from a number or a decimal string: an integer from `minimum` (0 lets the system
 * pick a free port) to 65535, else `undefined`.
 *
 * @example
 * ```ts
 * parseTcpPort('9464'); // 9464
 * parseTcpPort('99999'); // undefined
 * ```
 */
export function parseTcpPort(u: unknown, minimum: 0 | 1 = 0): number | undefined {
  const n = parseNumber(u);
  return n !== undefined && Number.isInteger(n) && n >= minimum && n <= 65_535 ? n : undefined;
}

function tcpPortCodec(minimum: 0 | 1): t.Type<number, number> {
  return scalarCodec(
    `TCP port (${minimum}-65535)`,
    (u): u is number => typeof u === 'number' && parseTcpPort(u, minimum) === u,
    (u) => parseTcpPort(u, minimum),
  );
}

/** Codec of a port to listen on: 0–65535 (0: any free port), a number or a string (`"8080"`). */
export const TcpPort = tcpPortCodec(0);

/** Codec of a fixed port, 1–65535 (for a server that cannot take "any free port"). */
export const FixedTcpPort = tcpPortCodec(1);

/**
 * A duration as a policy accepts it: milliseconds as a number, or a string such as `"250"`,
 * `"250ms"`, `"2s"`, `"1.5s"`, `"1m"`, `"1h"` (trimmed, unit case-insensitive).
 */
export type DurationInput = number | string;

const durationText = /^(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?$/i;
const millisecondsPer: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Reads a duration in milliseconds (see {@link DurationInput}). A number passes through
 * unchanged; a string with a unit is rounded to the microsecond so `"1.1s"` is exactly 1100.
 * Returns `undefined` unless the result is a non-negative finite number.
 *
 * @example
 * ```ts
 * parseDuration('1.5s'); // 1500
 * parseDuration(' 2M '); // 120000
 * parseDuration('-1'); // undefined
 * ```
 */
export function parseDuration(u: unknown): number | undefined {
  if (typeof u === 'number') return Number.isFinite(u) && u >= 0 ? u : undefined;
  if (typeof u !== 'string') return undefined;
  const match = durationText.exec(u.trim());
  if (match === null) return undefined;
  const [, amount = '', unit = 'ms'] = match;
  const factor = millisecondsPer[unit.toLowerCase()] ?? 1;
  const milliseconds = Number(amount) * factor;
  if (!Number.isFinite(milliseconds)) return undefined;
  return factor === 1 ? milliseconds : Math.round(milliseconds * 1000) / 1000;
}

const tooLong = `duration of at most ${MAX_TIMER_DELAY} ms (about 24.8 days, the longest timer delay)`;

/**
 * Hand-written: it normalises (`"2s"` → 2000) and gives a too-long duration its own message,
 * which {@link scalarCodec} cannot.
 */
function durationCodec(positive: boolean): t.Type<number, number> {
  const allowed = (ms: number): boolean => (positive ? ms > 0 : ms >= 0) && ms <= MAX_TIMER_DELAY;
  return new t.Type<number, number, unknown>(
    `${positive ? 'positive' : 'non-negative'} duration in ms`,
    (u): u is number => typeof u === 'number' && allowed(u),
    (u, c) => {
      const ms = parseDuration(u);
      if (ms === undefined || (positive && ms === 0)) return t.failure(u, c);
      return ms > MAX_TIMER_DELAY ? t.failure(u, c, tooLong) : t.success(ms);
    },
    t.identity,
  );
}

/** Milliseconds ≥ 0 (and ≤ {@link MAX_TIMER_DELAY}), in any {@link DurationInput} form. */
export const NonNegativeDuration = durationCodec(false);

/** Milliseconds > 0 (and ≤ {@link MAX_TIMER_DELAY}), in any {@link DurationInput} form. */
export const PositiveDuration = durationCodec(true);

/**
 * The word out of `words` that `u` spells, trimmed and case-insensitive, or the word an
 * alias (`warning` → `warn`; keys lower case) stands for; `undefined` for anything else. The
 * one keyword normaliser: log levels, formats, loop modes, jitters and union tags all use it.
 *
 * @example
 * ```ts
 * matchKeyword(' JSON ', ['json', 'pretty']); // 'json'
 * matchKeyword('RotatingFile', ['file', 'rotatingFile']); // 'rotatingFile'
 * ```
 */
export function matchKeyword<W extends string>(
  u: unknown,
  words: readonly W[],
  aliases: Readonly<Record<string, W>> = {},
): W | undefined {
  if (typeof u !== 'string') return undefined;
  const word = u.trim().toLowerCase();
  const found = words.find((candidate) => candidate.toLowerCase() === word);
  return found ?? (Object.hasOwn(aliases, word) ? aliases[word] : undefined);
}

/**
 * A codec for one word out of `words`, as a configuration accepts it (see
 * {@link matchKeyword}). Errors read `expected "a" | "b" | "c"`. Hand-written (through
 * {@link scalarCodec}) because it normalises the spelling, which `t.keyof` does not.
 *
 * @example
 * ```ts
 * const FormatCodec = keywordCodec(['json', 'pretty'] as const);
 * FormatCodec.decode(' JSON '); // right('json')
 * ```
 */
export function keywordCodec<W extends string>(
  words: readonly W[],
  aliases: Readonly<Record<string, W>> = {},
): t.Type<W, W> {
  const isWord = (u: unknown): u is W => typeof u === 'string' && words.some((w) => w === u);
  return scalarCodec(words.map((word) => `"${word}"`).join(' | '), isWord, (u) =>
    matchKeyword(u, words, aliases),
  );
}

/** A boolean as a policy accepts it: `true`/`false` or a word such as `"yes"`, `"off"`, `"1"`. */
export type BooleanInput = boolean | string;

const booleanWords: ReadonlyMap<string, boolean> = new Map([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
  ['yes', true],
  ['no', false],
  ['on', true],
  ['off', false],
]);

/**
 * Reads `true`/`false` or one of the strings `true|false|1|0|yes|no|on|off` (trimmed,
 * case-insensitive). Returns `undefined` for anything else: garbage is an error, not `false`.
 */
export function parseBoolean(u: unknown): boolean | undefined {
  if (typeof u === 'boolean') return u;
  return typeof u === 'string' ? booleanWords.get(u.trim().toLowerCase()) : undefined;
}

/** A boolean in any {@link BooleanInput} form. */
export const BooleanFlag = scalarCodec(
  'boolean (true/false, yes/no, on/off, 1/0)',
  (u): u is boolean => typeof u === 'boolean',
  parseBoolean,
);

const nullWords = new Set(['', 'none', 'null']);

/**
 * Whether `u` means "no value": `null`, or one of the strings `""`, `"none"`, `"null"`
 * (trimmed, case-insensitive), as an environment variable would spell it.
 */
export function isNullMarker(u: unknown): boolean {
  return u === null || (typeof u === 'string' && nullWords.has(u.trim().toLowerCase()));
}

/**
 * Whether `u` is a string with something other than white space in it: a name, a path, a
 * host.
 */
export function isNonBlankText(u: unknown): u is string {
  return typeof u === 'string' && u.trim() !== '';
}

/**
 * Codec of a string with something other than white space in it (a name, a path, a host),
 * decoded as given. The one text codec of the kit: telemetry, logging, the runner and the
 * brokers all use it.
 *
 * @example
 * ```ts
 * strictStruct('Exchange', { name: NonEmptyText }).decode({ name: ' ' }); // Left: name
 * ```
 */
export const NonEmptyText: t.Type<string, string> = t.refinement(
  t.string,
  isNonBlankText,
  'non-empty string',
);
