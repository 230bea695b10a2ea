import log from 'loglevel';
import type { Eventually } from '../core/connector.js';
import type { Logger } from '../core/logging.js';
import type { Transaction } from '../core/transaction.js';
import type { TransactionError } from '../core/errors.js';
import type { HandlerContext } from './handler-context.js';
import { requireHandler } from './require-handler.js';

/** The business logic of a producer: what to send for a transaction, and after. */
export interface ProducerTaskDefinition<P, O, S> {
  /** Names the task in logs, spans and metrics (default `producer`). */
  readonly name?: string;
  /**
   * Turns an input transaction into the payload to dispatch (default: its payload as is).
   * The dispatched transaction keeps the input's id and metadata. Retried per `prepare.retry`.
   */
  prepare?(transaction: Transaction<P>, context: HandlerContext<S>): Eventually<O>;
  /** Runs after the transaction was dispatched; `dispatched` is what was sent. */
  onSuccess?(
    transaction: Transaction<P>,
    dispatched: Transaction<O>,
    context: HandlerContext<S>,
  ): Eventually<unknown>;
  /** Handles a failed prepare, dispatch or onSuccess; succeeding here means "handled". */
  onException?(
    transaction: Transaction<P>,
    error: TransactionError,
    context: HandlerContext<S>,
  ): Eventually<unknown>;
  readonly services?: S;
  readonly logger?: Logger;
}

/** A validated producer task, ready for {@link produce}. */
export interface ProducerTask<P = unknown, O = P, S = undefined> extends ProducerTaskDefinition<
  P,
  O,
  S
> {
  readonly kind: 'producer';
  readonly name: string;
  readonly services: S;
  readonly logger: Logger;
}

/**
 * Defines a producer task from its handlers; every handler is optional (without `prepare`,
 * transactions are dispatched as they come).
 *
 * @example
 * ```ts
 * const task = producerTask({
 *   name: 'export-orders',
 *   prepare: (tx: Transaction<Order>) => ({ ...tx.payload, exportedAt: Date.now() }),
 *   onException: (tx, error, { logger }) => logger.warn(`not exported: ${tx.id}`, error.message),
 * });
 * ```
 * @throws TaskDefinitionError when a handler is not a function.
 */
export function producerTask<P = unknown, O = P, S = undefined>(
  definition: ProducerTaskDefinition<P, O, S> = {},
): ProducerTask<P, O, S> {
  const name = definition.name ?? 'producer';
  requireHandler(name, 'prepare', definition.prepare, false);
  requireHandler(name, 'onSuccess', definition.onSuccess, false);
  requireHandler(name, 'onException', definition.onException, false);
  return Object.freeze({
    kind: 'producer',
    name,
    prepare: definition.prepare?.bind(definition),
    onSuccess: definition.onSuccess?.bind(definition),
    onException: definition.onException?.bind(definition),
    services: definition.services as S,
    logger: definition.logger ?? log.getLogger(`ergon.${name}`),
  });
}
