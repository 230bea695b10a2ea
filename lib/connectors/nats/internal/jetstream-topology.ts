import {
  JetStreamApiError,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamInfo,
} from '@nats-io/jetstream';
import { describeError } from '../../../core/renderers.js';
import type { NatsRetention, NatsStorage } from '../nats-connector-config.js';
import { NatsTopologyError } from '../errors.js';

/** A stream as the connector wants it. */
export interface StreamDeclaration {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly retention: NatsRetention;
  readonly storage: NatsStorage;
  /** Milliseconds. */
  readonly duplicateWindow: number;
}

/** A durable pull consumer with explicit acks, as the connector wants it. */
export interface ConsumerDeclaration {
  readonly stream: string;
  readonly durable: string;
  readonly filterSubject: string | null;
  /** Milliseconds. */
  readonly ackWait: number;
  readonly maxAckPending: number;
}

const streamNotFound = 10059;
const consumerNotFound = 10014;

const nanos = (milliseconds: number): number => Math.round(milliseconds * 1_000_000);

async function orNullWhen<T>(code: number, lookup: () => Promise<T>): Promise<T | null> {
  try {
    return await lookup();
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === code) return null;
    throw error;
  }
}

/** Creates the thing when missing; when a concurrent creator won the race, reads it back. */
async function createOrRead<T>(
  create: () => Promise<T>,
  read: () => Promise<T | null>,
): Promise<T> {
  try {
    return await create();
  } catch (error) {
    const existing = await read();
    if (existing === null) throw error;
    return existing;
  }
}

function sameSet(a: readonly string[], b: readonly string[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((item) => b.includes(item));
}

/**
 * Makes sure a stream exists as declared: creates it when missing, updates its subjects and
 * duplicate window when they differ, and refuses to touch one whose retention or storage
 * differ (the server cannot change those).
 *
 * @example
 * ```ts
 * await declareStream(jsm, { name: 'ORDERS', subjects: ['orders.>'], retention: 'workqueue', storage: 'file', duplicateWindow: 120_000 });
 * ```
 * @throws NatsTopologyError when the server refuses, or the stream conflicts with the declaration.
 */
export async function declareStream(
  jsm: JetStreamManager,
  declaration: StreamDeclaration,
): Promise<void> {
  const wanted = {
    subjects: [...declaration.subjects],
    retention: declaration.retention,
    storage: declaration.storage,
    duplicate_window: nanos(declaration.duplicateWindow),
  };
  const read = (): Promise<StreamInfo | null> =>
    orNullWhen(streamNotFound, () => jsm.streams.info(declaration.name));
  try {
    const existing = await read();
    const info =
      existing ??
      (await createOrRead(() => jsm.streams.add({ name: declaration.name, ...wanted }), read));
    const config = info.config;
    if (config.retention !== wanted.retention || config.storage !== wanted.storage) {
      throw new NatsTopologyError(
        `stream ${declaration.name} exists with retention ${config.retention} and storage ` +
          `${config.storage}; the configuration asks for ${wanted.retention} and ${wanted.storage} ` +
          '(the server cannot change these: use another stream or set declare: false)',
      );
    }
    if (
      !sameSet(wanted.subjects, config.subjects) ||
      config.duplicate_window !== wanted.duplicate_window
    ) {
      await jsm.streams.update(declaration.name, {
        subjects: wanted.subjects,
        duplicate_window: wanted.duplicate_window,
      });
    }
  } catch (error) {
    throw asTopologyError(error, `stream ${declaration.name}`);
  }
}

/**
 * Makes sure a durable pull consumer with explicit acks exists as declared: creates it when
 * missing, updates `ack_wait`, `max_ack_pending`, the filter and `max_deliver` when they
 * differ. `max_deliver` is always unlimited: the connector counts deliveries itself and routes
 * poison messages to the dead-letter stream, which a server-side limit would silently prevent.
 *
 * @example
 * ```ts
 * await declareConsumer(jsm, { stream: 'ORDERS', durable: 'workers', filterSubject: null, ackWait: 30_000, maxAckPending: 1000 });
 * ```
 * @throws NatsTopologyError when the server refuses, or the consumer is not a pull consumer
 * with explicit acks.
 */
export async function declareConsumer(
  jsm: JetStreamManager,
  declaration: ConsumerDeclaration,
): Promise<void> {
  const wanted = {
    ack_wait: nanos(declaration.ackWait),
    max_ack_pending: declaration.maxAckPending,
    max_deliver: -1,
    ...(declaration.filterSubject === null ? {} : { filter_subject: declaration.filterSubject }),
  };
  const read = (): Promise<ConsumerInfo | null> =>
    orNullWhen(consumerNotFound, () => jsm.consumers.info(declaration.stream, declaration.durable));
  const name = `consumer ${declaration.durable} of stream ${declaration.stream}`;
  try {
    const existing = await read();
    const info =
      existing ??
      (await createOrRead(
        () =>
          jsm.consumers.add(declaration.stream, {
            durable_name: declaration.durable,
            ack_policy: 'explicit',
            deliver_policy: 'all',
            ...wanted,
          }),
        read,
      ));
    const config = info.config;
    if (config.ack_policy !== 'explicit' || config.deliver_subject !== undefined) {
      throw new NatsTopologyError(
        `${name} exists but is not a pull consumer with explicit acks ` +
          `(ack_policy ${config.ack_policy}${config.deliver_subject === undefined ? '' : ', push'})`,
      );
    }
    if (
      config.ack_wait !== wanted.ack_wait ||
      config.max_ack_pending !== wanted.max_ack_pending ||
      config.max_deliver !== wanted.max_deliver ||
      (config.filter_subject ?? null) !== declaration.filterSubject
    ) {
      // No filter is an absent `filter_subject`: an empty one would make the client send the
      // update to a subject ending in a dot, which no server answers ("jetstream is not
      // enabled").
      await jsm.consumers.update(declaration.stream, declaration.durable, {
        ...wanted,
        filter_subject: declaration.filterSubject ?? undefined,
      });
    }
  } catch (error) {
    throw asTopologyError(error, name);
  }
}

/**
 * What a failed consumer lookup says about the topology: `consumer X of stream S was deleted`
 * or `stream S was deleted` when the server says so, `null` for any other failure (a timeout,
 * a dropped connection: nothing can be told from those).
 */
export function missingTopology(error: unknown, stream: string, consumer: string): string | null {
  if (!(error instanceof JetStreamApiError)) return null;
  if (error.code === streamNotFound) return `stream ${stream} does not exist (was it deleted?)`;
  if (error.code === consumerNotFound) {
    return `consumer ${consumer} of stream ${stream} does not exist (was it deleted?)`;
  }
  return null;
}

function asTopologyError(error: unknown, what: string): NatsTopologyError {
  if (error instanceof NatsTopologyError) return error;
  // The client reports any JetStream API request nobody answered as "jetstream is not
  // enabled"; the cause names the subject, which tells a malformed request from a server
  // without JetStream.
  const unanswered =
    error instanceof Error && error.name === 'JetStreamNotEnabled' && error.cause !== undefined
      ? ` (no server answered: ${describeError(error.cause)}; JetStream is off for this account, or the request went to a subject the server does not serve)`
      : '';
  return new NatsTopologyError(`cannot declare ${what}: ${describeError(error)}${unanswered}`, {
    cause: error,
  });
}
