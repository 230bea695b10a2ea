import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { Observable } from 'rxjs';
import { NatsPullError } from '../errors.js';

/** One pull request of a durable pull consumer. */
export interface JetStreamPullRequest {
  readonly stream: string;
  readonly consumer: string;
  /** Most messages to deliver (≥ 1). */
  readonly batch: number;
  /** Most milliseconds the server waits for the first message. */
  readonly expires: number;
  /** Extra milliseconds the client waits past `expires` before it gives the request up. */
  readonly grace: number;
}

const encoder = new TextEncoder();

/**
 * One JetStream pull request as a cold Observable of the raw messages it delivers: subscribing
 * sends `$JS.API.CONSUMER.MSG.NEXT` with `no_wait` and `expires`, so the server waits up to
 * `expires` for the first message, then sends what is available up to `batch` and ends the
 * request at once (status 408/404) instead of holding it open for a full batch. Completes
 * when the server ends the request, when `batch` messages arrived, or `grace` ms after
 * `expires` when the server never answered: then `unanswered` is called first (a request lost
 * in a reconnect, or one the server dropped because the consumer or its stream is gone: the
 * JetStream API takes the request and sends nothing back). Errors on any other status.
 *
 * Unsubscribing while the server may still deliver drains the reply subscription (UNSUB, then a
 * round trip): a message that was already on the wire is handed to `unclaimed` (the caller
 * releases it), never silently dropped.
 *
 * ```
 * server:  [waits ≤ expires] m1 m2 m3 408
 * pull:    -------------------m1-m2-m3-|
 * ```
 *
 * @example
 * ```ts
 * jetstreamPull(nc, { stream: 'ORDERS', consumer: 'workers', batch: 10, expires: 1000, grace: 1000 }, (m) => m.respond(nak), () => connected, () => checkConsumer())
 *   .subscribe((message) => handle(message));
 * ```
 */
export function jetstreamPull(
  connection: NatsConnection,
  request: JetStreamPullRequest,
  unclaimed: (message: Msg) => void,
  isConnected: () => boolean,
  unanswered: () => void,
): Observable<Msg> {
  return new Observable<Msg>((subscriber) => {
    let open = true;
    let received = 0;
    const subscription = connection.subscribe(createInbox(), {
      callback: (error, message) => {
        if (subscriber.closed) {
          if (error === null && isJetStreamMessage(message)) unclaimed(message);
          return;
        }
        if (error !== null) {
          open = false;
          subscriber.error(new NatsPullError('the pull subscription failed', { cause: error }));
          return;
        }
        if (!isJetStreamMessage(message)) {
          const code = message.headers?.code ?? 0;
          if (code === 100) return;
          open = false;
          if (code === 404 || code === 408) {
            subscriber.complete();
          } else {
            const description = message.headers?.description ?? 'no description';
            subscriber.error(
              new NatsPullError(
                `pull request on ${request.stream} > ${request.consumer} ended with ${code} ${description}`,
                { code },
              ),
            );
          }
          return;
        }
        received++;
        if (received >= request.batch) open = false;
        subscriber.next(message);
        if (!open && !subscriber.closed) subscriber.complete();
      },
    });
    connection.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${request.stream}.${request.consumer}`,
      encoder.encode(
        JSON.stringify({
          batch: request.batch,
          no_wait: true,
          expires: Math.round(request.expires * 1_000_000),
        }),
      ),
      { reply: subscription.getSubject() },
    );
    const guard = setTimeout(() => {
      if (received === 0) unanswered();
      subscriber.complete();
    }, request.expires + request.grace);
    return () => {
      clearTimeout(guard);
      if (subscription.isClosed()) return;
      if (open && isConnected()) {
        subscription.drain().catch(() => subscription.unsubscribe());
      } else {
        subscription.unsubscribe();
      }
    };
  });
}

function isJetStreamMessage(message: Msg): boolean {
  return message.reply !== undefined && message.reply.startsWith('$JS.ACK.');
}
