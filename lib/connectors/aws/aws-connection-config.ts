import type * as t from 'io-ts';
import { backoffCodec, type Backoff, type BackoffInput } from '../../policy/backoff.js';
import {
  decodePolicy,
  guardCodec,
  orNull,
  strictStruct,
  withDefault,
} from '../../policy/codecs/structures.js';
import { type DurationInput, NonEmptyText, PositiveDuration } from '../../policy/codecs/values.js';

/** Static credentials (for local servers and tests; on AWS prefer the SDK's default chain). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string | null;
}

/** How the SQS and S3 connectors reach their service, fully decoded with defaults filled in. */
export interface AwsConnectionConfig {
  /** `http(s)://host:port` of an SQS- or S3-compatible server, or `null` for AWS itself. */
  readonly endpoint: string | null;
  /** The AWS region (any name for a local server). */
  readonly region: string;
  /** Static credentials, or `null` for the SDK's default provider chain (environment, profile, role). */
  readonly credentials: AwsCredentials | null;
  /**
   * How long a request waits for a server that was never reached before it fails with
   * `ConnectionUnavailableError`; a server that answered once is waited for as long as it takes.
   */
  readonly connectTimeout: number;
  /** Longest wait for one HTTP answer (a long poll adds its own wait on top). */
  readonly requestTimeout: number;
  /** Delay between attempts of a request that failed transiently (network, 5xx, throttling). */
  readonly reconnect: Backoff;
}

/** An {@link AwsConnectionConfig} as code, JSON or environment variables may give it. */
export interface AwsConnectionConfigInput {
  /** Default `null` (AWS itself). */
  readonly endpoint?: string | null;
  /** Default `us-east-1`. */
  readonly region?: string;
  /** Default `null` (the SDK's default provider chain). */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string | null;
  } | null;
  /** Default 10 s. */
  readonly connectTimeout?: DurationInput;
  /** Default 30 s. */
  readonly requestTimeout?: DurationInput;
  /** Default 100 ms doubling up to 5 s, no jitter. */
  readonly reconnect?: BackoffInput | null;
}

function isHttpUrl(u: unknown): u is string {
  if (typeof u !== 'string') return false;
  try {
    const url = new URL(u);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const Endpoint = guardCodec('http:// or https:// URL with a host', isHttpUrl);

const CredentialsCodec = strictStruct('AwsCredentials', {
  accessKeyId: NonEmptyText,
  secretAccessKey: NonEmptyText,
  sessionToken: withDefault(orNull(NonEmptyText), null),
});

const defaultReconnect: Backoff = Object.freeze({
  backoff: 100,
  backoffMultiplier: 2,
  backoffCap: 5000,
  jitter: 'none',
});

/**
 * The io-ts codec behind {@link awsConnectionConfig}, for io-ts users.
 *
 * @example
 * ```ts
 * const result = AwsConnectionConfigCodec.decode({ endpoint: 'http://127.0.0.1:9324' });
 * ```
 */
export const AwsConnectionConfigCodec: t.Type<AwsConnectionConfig, AwsConnectionConfig> =
  strictStruct('AwsConnectionConfig', {
    endpoint: withDefault(orNull(Endpoint), null),
    region: withDefault(NonEmptyText, 'us-east-1'),
    credentials: withDefault(orNull(CredentialsCodec), null),
    connectTimeout: withDefault(PositiveDuration, 10_000),
    requestTimeout: withDefault(PositiveDuration, 30_000),
    reconnect: backoffCodec(defaultReconnect),
  });

/**
 * Decodes how to reach an AWS (or AWS-compatible) service, filling defaults.
 *
 * @example
 * ```ts
 * awsConnectionConfig({ endpoint: 'http://127.0.0.1:9324', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
 * // { endpoint: 'http://127.0.0.1:9324', region: 'us-east-1', connectTimeout: 10000, … }
 * ```
 * @throws PolicyError naming every wrong path, e.g. `endpoint: expected http:// or https:// URL with a host`.
 */
export function awsConnectionConfig(input?: AwsConnectionConfigInput | null): AwsConnectionConfig {
  return decodePolicy(AwsConnectionConfigCodec, 'aws connection config', input ?? {});
}
