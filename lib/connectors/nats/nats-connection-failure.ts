import { errors, RequestError } from '@nats-io/transport-node';

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
