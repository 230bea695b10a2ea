import * as t from 'io-ts';
import type { PayloadCodec } from '../../core/payload-codec.js';
import { PayloadCodecSetting } from '../../policy/codecs/payload-codec-setting.js';
import { PolicyError, type PolicyIssue } from '../../core/errors.js';
import { type Backoff, backoffCodec, type BackoffInput } from '../../policy/backoff.js';
import {
  BooleanFlag,
  type BooleanInput,
  type DurationInput,
  type IntegerInput,
  NonNegativeDuration,
  PositiveDuration,
  PositiveInteger,
  scalarCodec,
} from '../../policy/codecs/values.js';
import { decodePolicy, orNull, strictStruct, withDefault } from '../../policy/codecs/structures.js';
import { renderValue } from '../../core/renderers.js';
import {
  JetStreamName,
  NatsServerUrls,
  PublishSubject,
  SubjectFilter,
  subjectMatches,
} from './internal/nats-names.js';

/** How a stream keeps messages: `workqueue` deletes a message once it is acknowledged. */
export type NatsRetention = 'workqueue' | 'limits' | 'interest';

/** Where a stream stores messages. */
export type NatsStorage = 'file' | 'memory';

/** The connection part of a NATS configuration, fully decoded (see {@link natsServiceConfig}). */
export interface NatsServiceConfig {
  /** Server URLs; the client picks one and fails over to the others. */
  readonly url: readonly string[];
  /** Client name shown by the server's monitoring, or `null`. */
  readonly name: string | null;
  /** Most milliseconds one connection attempt may take. */
  readonly connectTimeout: number;
  /** Most milliseconds a JetStream API call or a publish acknowledgement may take. */
  readonly requestTimeout: number;
  /**
   * Milliseconds between client pings; two unanswered pings mark the connection stale and
   * start a reconnect (this bounds how long a silently dead connection goes unnoticed).
   */
  readonly pingInterval: number;
  /** Capped exponential backoff between connection attempts (initial connect and reconnects). */
  readonly reconnect: Backoff;
}

/** A NATS JetStream connector's configuration, fully decoded (see {@link natsConnectorConfig}). */
export interface NatsConnectorConfig<P = unknown> extends NatsServiceConfig {
  /** The stream transactions are fetched from and dispatched to. */
  readonly stream: string;
  /** The stream's subjects (when the connector declares it). */
  readonly subjects: readonly string[];
  /**
   * The subject `dispatch` publishes to; `null` when it is not set and the first of `subjects`
   * has wildcards (such a connector can fetch but not dispatch).
   */
  readonly subject: string | null;
  /** The durable pull consumer every worker of this task shares. */
  readonly consumer: string;
  /** Only fetch messages on this subject (filter), or `null` for the whole stream. */
  readonly filterSubject: string | null;
  readonly retention: NatsRetention;
  readonly storage: NatsStorage;
  /** Window in milliseconds in which the stream drops a message whose id it already stored. */
  readonly duplicateWindow: number;
  /** Create or update the streams and the consumer from this configuration. */
  readonly declare: boolean;
  /** The lease: milliseconds JetStream waits for a settlement before redelivering. */
  readonly ackWait: number;
  /** Most fetched and unsettled messages the consumer allows over all workers. */
  readonly maxAckPending: number;
  /** Most milliseconds a fetch waits for the first message. */
  readonly fetchWait: number;
  /** Deliveries a message gets before the next one sends it to the dead-letter stream. */
  readonly maxDeliveries: number;
  /** Milliseconds JetStream waits before redelivering a released message. */
  readonly releaseDelay: number;
  /** Wait for the server to confirm each ack (a round trip per transaction). */
  readonly ackConfirm: boolean;
  /** Renew the lease (`+WPI`) of in-flight messages every `ackWait / 3`. */
  readonly renewLease: boolean;
  /** Where dead-lettered messages go. */
  readonly deadLetter: { readonly stream: string; readonly subject: string };
  /** Turns payloads into message bodies and back. */
  readonly codec: PayloadCodec<P>;
}

/** The connection part of a NATS configuration as {@link natsServiceConfig} accepts it. */
export interface NatsServiceConfigInput {
  /** One URL, a comma-separated list or an array (default `nats://127.0.0.1:4222`). */
  readonly url?: string | readonly string[];
  /** Client name (default `null`). */
  readonly name?: string | null;
  /** Default 5 s. */
  readonly connectTimeout?: DurationInput;
  /** Default 5 s. */
  readonly requestTimeout?: DurationInput;
  /** Default 30 s. */
  readonly pingInterval?: DurationInput;
  /** Default 250 ms doubling up to 5 s with equal jitter. */
  readonly reconnect?: BackoffInput | null;
}

/**
 * A NATS connector configuration as {@link natsConnectorConfig} accepts it: only `stream` is
 * required; durations also as strings (`"30s"`), numbers and booleans also as env-style strings.
 */
export interface NatsConnectorConfigInput<P = unknown> extends NatsServiceConfigInput {
  readonly stream: string;
  /** Default `[stream]`. */
  readonly subjects?: string | readonly string[] | null;
  /** Default: the first of `subjects` when it has no wildcards, else `null`. */
  readonly subject?: string | null;
  /** Default `<stream>_ergon`. */
  readonly consumer?: string | null;
  /** Default `null` (the whole stream). */
  readonly filterSubject?: string | null;
  /** Default `workqueue` (case-insensitive). */
  readonly retention?: NatsRetention | (string & Record<never, never>);
  /** Default `file` (case-insensitive). */
  readonly storage?: NatsStorage | (string & Record<never, never>);
  /** Default 2 min. */
  readonly duplicateWindow?: DurationInput;
  /** Default `true`. */
  readonly declare?: BooleanInput;
  /** Default 30 s. */
  readonly ackWait?: DurationInput;
  /** Default 1000. */
  readonly maxAckPending?: IntegerInput;
  /** Default 1 s. */
  readonly fetchWait?: DurationInput;
  /** Default 5. */
  readonly maxDeliveries?: IntegerInput;
  /** Default 0. */
  readonly releaseDelay?: DurationInput;
  /** Default `false`. */
  readonly ackConfirm?: BooleanInput;
  /** Default `true`. */
  readonly renewLease?: BooleanInput;
  /** Defaults: stream `<stream>_DEAD`, subject the same as the stream name. */
  readonly deadLetter?: {
    readonly stream?: string | null;
    readonly subject?: string | null;
  } | null;
  /** Default {@link jsonCodec}. */
  readonly codec?: PayloadCodec<P>;
}

function oneOf<A extends string>(name: string, values: readonly A[]): t.Type<A, A> {
  const is = (u: unknown): u is A =>
    typeof u === 'string' && (values as readonly string[]).includes(u);
  return scalarCodec(name, is, (u) => {
    const word = typeof u === 'string' ? u.trim().toLowerCase() : u;
    return is(word) ? word : undefined;
  });
}

const SubjectFilters = scalarCodec<readonly string[]>(
  'NATS subject filter(s) (e.g. "orders.>")',
  (u): u is readonly string[] =>
    Array.isArray(u) && u.length > 0 && u.every((s) => SubjectFilter.is(s)),
  (u) => {
    const list = typeof u === 'string' ? u.split(',').map((s) => s.trim()) : u;
    if (!Array.isArray(list) || list.length === 0) return undefined;
    return list.every((s) => SubjectFilter.is(s)) ? Object.freeze([...list]) : undefined;
  },
);

/** Reconnect defaults: 250 ms doubling up to 5 s, equal jitter. */
const defaultReconnect: Backoff = Object.freeze({
  backoff: 250,
  backoffMultiplier: 2,
  backoffCap: 5000,
  jitter: 'equal',
});

const serviceProps = {
  url: withDefault(NatsServerUrls, Object.freeze(['nats://127.0.0.1:4222'])),
  name: withDefault(orNull(t.string), null),
  connectTimeout: withDefault(PositiveDuration, 5000),
  requestTimeout: withDefault(PositiveDuration, 5000),
  pingInterval: withDefault(PositiveDuration, 30_000),
  reconnect: backoffCodec(defaultReconnect),
};

/**
 * The io-ts codec behind {@link natsServiceConfig}.
 *
 * @example
 * ```ts
 * NatsServiceConfigCodec.decode({ url: 'nats://a:4222' }); // Right with every default filled
 * ```
 */
export const NatsServiceConfigCodec: t.Type<NatsServiceConfig, NatsServiceConfig> = strictStruct(
  'NatsServiceConfig',
  serviceProps,
);

/**
 * The io-ts codec of a NATS connector configuration before the defaults that depend on other
 * keys (`subjects`, `subject`, `consumer`, `deadLetter`) are filled: those decode to `null`
 * when absent. {@link natsConnectorConfig} fills them and checks the keys against each other.
 *
 * @example
 * ```ts
 * const result = NatsConnectorConfigCodec.decode({ stream: 'ORDERS' });
 * if (isRight(result)) result.right.consumer; // null: natsConnectorConfig makes it 'ORDERS_ergon'
 * ```
 */
export const NatsConnectorConfigCodec = strictStruct('NatsConnectorConfig', {
  ...serviceProps,
  stream: JetStreamName,
  subjects: withDefault(orNull(SubjectFilters), null),
  subject: withDefault(orNull(PublishSubject), null),
  consumer: withDefault(orNull(JetStreamName), null),
  filterSubject: withDefault(orNull(SubjectFilter), null),
  retention: withDefault(
    oneOf<NatsRetention>('"workqueue" | "limits" | "interest"', [
      'workqueue',
      'limits',
      'interest',
    ]),
    'workqueue',
  ),
  storage: withDefault(oneOf<NatsStorage>('"file" | "memory"', ['file', 'memory']), 'file'),
  duplicateWindow: withDefault(PositiveDuration, 120_000),
  declare: withDefault(BooleanFlag, true),
  ackWait: withDefault(PositiveDuration, 30_000),
  maxAckPending: withDefault(PositiveInteger, 1000),
  fetchWait: withDefault(PositiveDuration, 1000),
  maxDeliveries: withDefault(PositiveInteger, 5),
  releaseDelay: withDefault(NonNegativeDuration, 0),
  ackConfirm: withDefault(BooleanFlag, false),
  renewLease: withDefault(BooleanFlag, true),
  deadLetter: strictStruct('NatsDeadLetter', {
    stream: withDefault(orNull(JetStreamName), null),
    subject: withDefault(orNull(PublishSubject), null),
  }),
  codec: PayloadCodecSetting,
});

const subjectName = 'NATS connector config';

/**
 * Decodes the connection part of a NATS configuration, filling defaults (local server,
 * 5 s connect and request timeouts, reconnect backoff 250 ms doubling up to 5 s).
 *
 * @example
 * ```ts
 * natsServiceConfig({ url: 'nats://nats.internal:4222', reconnect: { backoffCap: '10s' } });
 * ```
 * @throws PolicyError listing every wrong or unknown key.
 */
export function natsServiceConfig(input?: NatsServiceConfigInput): NatsServiceConfig {
  return decodePolicy(NatsServiceConfigCodec, 'NATS service config', input);
}

/**
 * Decodes a NATS JetStream connector configuration, filling defaults: `subjects` `[stream]`,
 * `subject` the first subject, `consumer` `<stream>_ergon`, dead letters to the stream and
 * subject `<stream>_DEAD`, `ackWait` 30 s, `maxAckPending` 1000, `fetchWait` 1 s,
 * `maxDeliveries` 5, JSON payloads. See `docs/connectors/nats.md` for the table.
 *
 * @example
 * ```ts
 * const config = natsConnectorConfig({ url: 'nats://127.0.0.1:4222', stream: 'ORDERS', subjects: 'orders.>', subject: 'orders.new' });
 * config.consumer; // 'ORDERS_ergon'
 * config.deadLetter; // { stream: 'ORDERS_DEAD', subject: 'ORDERS_DEAD' }
 * ```
 * @throws PolicyError naming every wrong path, e.g. `stream: expected JetStream name …, got undefined`
 * or `maxAckPending: expected positive integer, got 0`.
 */
export function natsConnectorConfig<P = unknown>(
  input: NatsConnectorConfigInput<P>,
): NatsConnectorConfig<P> {
  const raw = decodePolicy(NatsConnectorConfigCodec, subjectName, input);
  const subjects = raw.subjects ?? Object.freeze([raw.stream]);
  const firstSubject = subjects[0] as string;
  const deadLetterStream = raw.deadLetter.stream ?? `${raw.stream}_DEAD`;
  const config: NatsConnectorConfig<P> = Object.freeze({
    ...raw,
    subjects,
    subject: raw.subject ?? (PublishSubject.is(firstSubject) ? firstSubject : null),
    consumer: raw.consumer ?? `${raw.stream}_ergon`,
    deadLetter: Object.freeze({
      stream: deadLetterStream,
      subject: raw.deadLetter.subject ?? deadLetterStream,
    }),
    codec: raw.codec as PayloadCodec<P>,
  });
  const issues = crossFieldIssues(config);
  if (issues.length > 0) throw new PolicyError(subjectName, issues);
  return config;
}

function crossFieldIssues(config: NatsConnectorConfig): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const captured = (subject: string): boolean =>
    config.subjects.some((filter) => subjectMatches(filter, subject));
  if (config.subject !== null && !captured(config.subject)) {
    issues.push({
      path: 'subject',
      expected: `a subject of the stream (${config.subjects.join(', ')})`,
      actual: renderValue(config.subject),
    });
  }
  if (
    config.filterSubject !== null &&
    !config.subjects.some((s) => overlaps(s, config.filterSubject as string))
  ) {
    issues.push({
      path: 'filterSubject',
      expected: `a filter within the stream's subjects (${config.subjects.join(', ')})`,
      actual: renderValue(config.filterSubject),
    });
  }
  if (captured(config.deadLetter.subject)) {
    issues.push({
      path: 'deadLetter.subject',
      expected: "a subject outside the stream's subjects (dead letters go to their own stream)",
      actual: renderValue(config.deadLetter.subject),
    });
  }
  if (config.deadLetter.stream === config.stream) {
    issues.push({
      path: 'deadLetter.stream',
      expected: 'a stream other than `stream`',
      actual: renderValue(config.deadLetter.stream),
    });
  }
  return issues;
}

function overlaps(a: string, b: string): boolean {
  return subjectMatches(a, b) || subjectMatches(b, a);
}
