import { PositiveDuration, type DurationInput } from '../../policy/duration.js';
import { orNull } from '../../policy/or-null.js';
import { withDefault } from '../../policy/with-default.js';
import { NonEmptyText } from './non-empty-text.js';
import { OtlpHeadersCodec, type OtlpHeaders } from './otlp-headers.js';

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
  endpoint: withDefault(orNull(NonEmptyText), null),
  headers: withDefault(OtlpHeadersCodec, noHeaders),
  timeout: withDefault(orNull(PositiveDuration), null),
};
