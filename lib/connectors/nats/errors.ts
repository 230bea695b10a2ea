import { errors, RequestError } from '@nats-io/transport-node';
import { ErgonError } from '../../core/errors.js';

/**
 * The NATS server cannot be reached: the first connection failed, or the connection is down
 * (the client is reconnecting) for longer than an operation may wait.
 */
export class NatsConnectionError extends ErgonError {}

/**
 * A message could not be published to the dead-letter stream. The connector released it
 * instead (it comes back and is dead-lettered again later), so nothing is lost.
 */
export class NatsDeadLetterError extends ErgonError {}

/**
 * A JetStream pull request ended with an error status (the consumer was deleted, too many
 * pull requests wait, JetStream is unavailable, …) rather than with messages or a timeout.
 */
export class NatsPullError extends ErgonError {
  /** The status code the server sent (409, 503, …), or `undefined` for a client-side failure. */
  readonly code: number | undefined;

  constructor(message: string, options: { code?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}

/**
 * A stream or consumer could not be declared as configured: the server refused it, or one
 * already exists with settings that cannot be changed (retention, storage, ack policy).
 */
export class NatsTopologyError extends ErgonError {}

/**
 * Whether a NATS client error means the request never reached the server or its answer was
 * lost (timeout, closed or draining connection, a request cut by a disconnect) as opposed to
 * an answer that refused it (no responders, permissions, a JetStream API error).
 *
 * @example
 * ```ts
 * try { await js.publish(subject, body); } catch (error) { if (isConnectionFailure(error)) retryLater(); }
 * ```
 */
export function isConnectionFailure(error: unknown): boolean {
  if (error instanceof RequestError) return !error.isNoResponders();
  return (
    error instanceof errors.TimeoutError ||
    error instanceof errors.ClosedConnectionError ||
    error instanceof errors.DrainingConnectionError ||
    error instanceof errors.ConnectionError
  );
}
