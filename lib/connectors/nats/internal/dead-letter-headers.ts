import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { describeError } from '../../../core/renderers.js';
import type { TransactionError } from '../../../core/errors.js';
import type { JetStreamDelivery } from './jetstream-delivery.js';

/** Why a message is dead-lettered: the lifecycle's error, or too many deliveries. */
export type DeadLetterReason =
  | { readonly kind: 'failed'; readonly error: TransactionError }
  | { readonly kind: 'maxDeliveries'; readonly maxDeliveries: number };

const longestValue = 1024;

/** A header value on one line (NATS headers cannot hold line breaks), shortened when long. */
function headerValue(text: string): string {
  const line = text.replace(/[\r\n]+/g, ' ');
  return line.length > longestValue ? `${line.slice(0, longestValue - 1)}…` : line;
}

/**
 * The headers of a dead-lettered copy of `delivery`: the original headers except the
 * server's `Nats-*` ones (message id, expectations, TTL: they would steer the copy), plus
 *
 * | header | value |
 * |---|---|
 * | `Ergon-Error` | the error, one line (`maxDeliveries` reason: `delivered N times …`) |
 * | `Ergon-Error-Type` | the error class, or `MaxDeliveriesExceeded` |
 * | `Ergon-Error-Category`, `Ergon-Error-Stage` | of a {@link TransactionError} |
 * | `Ergon-Transaction-Id` | the transaction id |
 * | `Ergon-Source-Stream`, `Ergon-Source-Subject`, `Ergon-Source-Sequence` | where it was |
 * | `Ergon-Delivery-Count` | deliveries so far |
 * | `Ergon-Dead-Lettered-At` | ISO time |
 *
 * @example
 * ```ts
 * js.publish(deadLetterSubject, delivery.message.data, { headers: deadLetterHeaders(delivery, tx.id, { kind: 'failed', error }) });
 * ```
 */
export function deadLetterHeaders(
  delivery: JetStreamDelivery,
  transactionId: string,
  reason: DeadLetterReason,
): MsgHdrs {
  const result = headers();
  const original = delivery.message.headers;
  if (original !== undefined) {
    for (const [key, values] of original) {
      if (key.toLowerCase().startsWith('nats-')) continue;
      for (const value of values) result.append(key, value);
    }
  }
  const { info } = delivery;
  if (reason.kind === 'failed') {
    const { error } = reason;
    const cause = error.cause instanceof Error ? error.cause : error;
    result.set('Ergon-Error', headerValue(error.message || describeError(error)));
    result.set('Ergon-Error-Type', headerValue(cause.name));
    result.set('Ergon-Error-Category', error.category);
    if (error.stage !== undefined) result.set('Ergon-Error-Stage', error.stage);
  } else {
    result.set(
      'Ergon-Error',
      `delivered ${info.deliveryCount} times (maxDeliveries ${reason.maxDeliveries}) without being acknowledged`,
    );
    result.set('Ergon-Error-Type', 'MaxDeliveriesExceeded');
  }
  result.set('Ergon-Transaction-Id', headerValue(transactionId));
  result.set('Ergon-Source-Stream', info.stream);
  result.set('Ergon-Source-Subject', delivery.message.subject);
  result.set('Ergon-Source-Sequence', String(info.streamSequence));
  result.set('Ergon-Delivery-Count', String(info.deliveryCount));
  result.set('Ergon-Dead-Lettered-At', new Date().toISOString());
  return result;
}
