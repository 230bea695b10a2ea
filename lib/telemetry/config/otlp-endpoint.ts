import type * as t from 'io-ts';
import { MASK } from '../../core/mask-credentials.js';
import {
  concealFailures,
  isPlainObject,
  orNull,
  withDefault,
  guardCodec,
} from '../../policy/codecs/structures.js';
import { PositiveDuration, scalarCodec, type DurationInput } from '../../policy/codecs/values.js';

/** Headers (gRPC metadata) sent with every OTLP export, e.g. `{ authorization: 'Bearer …' }`. */
export type OtlpHeaders = Readonly<Record<string, string>>;

const isOtlpHeaders = (u: unknown): u is OtlpHeaders =>
  isPlainObject(u) && Object.values(u).every((value) => typeof value === 'string');

/**
 * What a configuration error shows of bad headers: the keys, and the type of each value in
 * place of the value (header values are tokens; a string one shows as `***`).
 */
function withoutValues(u: unknown): unknown {
  if (!isPlainObject(u)) return typeof u === 'string' ? MASK : u;
  return Object.fromEntries(
    Object.entries(u).map(([key, value]) => [
      key,
      typeof value === 'string' ? MASK : `<${value === null ? 'null' : typeof value}>`,
    ]),
  );
}

/**
 * Codec of {@link OtlpHeaders}: an object whose values are strings. A failure never shows a
 * header's value (they hold bearer tokens and API keys), only its key and type.
 */
const OtlpHeadersCodec: t.Type<OtlpHeaders, OtlpHeaders> = concealFailures(
  guardCodec('object of strings', isOtlpHeaders),
  withoutValues,
);

/** What an OTLP gRPC endpoint must look like, for configuration errors. */
export const OTLP_ENDPOINT_EXPECTED = 'OTLP gRPC endpoint URL such as "http://localhost:4317"';

const endpointProtocols: ReadonlySet<string> = new Set(['http:', 'https:', 'unix:']);

/**
 * An OTLP gRPC endpoint as the exporters read it (`http://host:port` for plain text,
 * `https://host:port` or a bare `host:port` for TLS, `unix:///path`), trimmed; `undefined`
 * when the exporter could not use it (it would throw `TypeError: Invalid URL`).
 *
 * @example
 * ```ts
 * otlpEndpointUrl(' http://collector:4317 '); // 'http://collector:4317'
 * otlpEndpointUrl('http://collector:99999'); // undefined (no such port)
 * ```
 */
export function otlpEndpointUrl(u: unknown): string | undefined {
  if (typeof u !== 'string') return undefined;
  const text = u.trim();
  if (text === '') return undefined;
  const withScheme = /^\w{1,8}:\/\//.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  if (!endpointProtocols.has(url.protocol)) return undefined;
  return url.protocol === 'unix:' || url.hostname !== '' ? text : undefined;
}

/** Codec of an OTLP gRPC endpoint (see {@link otlpEndpointUrl}). */
const OtlpEndpointUrl = scalarCodec(
  OTLP_ENDPOINT_EXPECTED,
  (u): u is string => typeof u === 'string' && otlpEndpointUrl(u) === u,
  otlpEndpointUrl,
);

/** Where an OTLP gRPC exporter sends (traces, metrics and logs each have their own). */
export interface OtlpEndpoint {
  /**
   * The collector's gRPC address, e.g. `http://localhost:4317` (`http://` for plain text,
   * `https://` for TLS), or `null` to let the exporter read `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`
   * / `OTEL_EXPORTER_OTLP_ENDPOINT` (default `http://localhost:4317`).
   */
  readonly endpoint: string | null;
  /** gRPC metadata sent with every export; empty lets the exporter read `OTEL_EXPORTER_OTLP_HEADERS`. */
  readonly headers: OtlpHeaders;
  /** Deadline of one export in milliseconds, or `null` for the exporter's (10 s). */
  readonly timeout: number | null;
}

/** An {@link OtlpEndpoint} as a configuration accepts it. */
export interface OtlpEndpointInput {
  readonly endpoint?: string | null;
  readonly headers?: OtlpHeaders;
  readonly timeout?: DurationInput | null;
}

const noHeaders: OtlpHeaders = Object.freeze({});

/** The codecs of an {@link OtlpEndpoint}'s keys, to spread into an exporter's struct. */
export const otlpEndpointProps = {
  endpoint: withDefault(orNull(OtlpEndpointUrl), null),
  headers: withDefault(OtlpHeadersCodec, noHeaders),
  timeout: withDefault(orNull(PositiveDuration), null),
};
