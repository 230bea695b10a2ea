import type { BrokerEndpoint, BrokerKind } from './broker-endpoint.js';

/** A message published as raw bytes, bypassing the codec (for undecodable bodies). */
export interface RawMessage {
  readonly id: string;
  readonly body: Buffer;
}

/**
 * One broker destination (queue, stream or table) a fault spec drives, seen from outside the
 * task: what the worker connects to, how to put raw messages in, how much is left, what was
 * dead-lettered, how to cut the worker's connections from the server side. Each spec makes its
 * own (unique names) and disposes of it.
 */
export interface BrokerTarget {
  readonly broker: BrokerKind;
  /** What the task's workers consume (and what {@link publishNumbered} dispatches through). */
  readonly endpoint: BrokerEndpoint;
  /** Publishes raw bodies with the given ids, as a producer that is not ergon-rx would. */
  publishRaw(messages: readonly RawMessage[]): Promise<void>;
  /**
   * Messages not finished yet: waiting or unsettled. RabbitMQ counts only the ready ones (an
   * unacknowledged message is invisible without the management plugin); once the task stopped,
   * its unacknowledged messages are ready again, so the count is exact then.
   */
  outstanding(): Promise<number>;
  /** Ids of the messages in the dead-letter destination, so far. */
  deadLettered(): Promise<string[]>;
  /** The error each dead letter so far carries (its `ergon-error` header, field or column), by id. */
  deadLetterErrors(): Promise<ReadonlyMap<string, string>>;
  /** Closes the task's connections from the server side; how many were closed. */
  cutConnections(): Promise<number>;
  /**
   * Makes the dead-letter destination refuse what is sent to it (full); resolves to the
   * function that makes it take messages again. Absent where a destination cannot be full.
   */
  refuseDeadLetters?(): Promise<() => Promise<void>>;
  /** Deletes the dead-letter destination (queue, stream) under the running task. */
  deleteDeadLetters?(): Promise<void>;
  /** Deletes the durable consumer the task pulls from (JetStream). */
  deleteConsumer?(): Promise<void>;
  /** Deletes what the spec created and closes the target's own connections. */
  dispose(): Promise<void>;
}
