import log, { type Logger } from 'loglevel';
import { maskPlainLogging } from './plain-log-masking.js';

/**
 * The loglevel logger of a name, the same object on every call. Once logging is configured
 * (`configureLogging` or `setupTelemetry`), its records are formatted (JSON by default) with
 * the trace, span and transaction ids of the context active at the call; before that it
 * prints as plain loglevel does, credentials masked (see `maskPlainLogging`). A trailing plain object becomes the record's fields and an
 * `Error` argument its `error`.
 *
 * @example
 * ```ts
 * const logger = getLogger('orders.payments');
 * logger.info('charged %s', order.id, { amount: order.amount });
 * logger.error('charge failed', error, { order: order.id });
 * ```
 */
export function getLogger(name: string): Logger {
  maskPlainLogging();
  return log.getLogger(name);
}
