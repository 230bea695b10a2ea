import log from 'loglevel';
import type { Eventually } from '../core/connector.js';
import type { Logger } from '../core/logging.js';
import type { Transaction } from '../core/transaction.js';
import type { TransactionError } from '../core/errors.js';
import type { HandlerContext } from './handler-context.js';
import { requireHandler } from './require-handler.js';

/** The business logic of a consumer: what to do with a transaction, and after. */
export interface ConsumerTaskDefinition<P, R, S> {
  /** Names the task in logs, spans and metrics (default `consumer`). */
  readonly name?: string;
  /** Does the work. Throw (or reject, or error) to fail; retried per `process.retry`. */
  process(transaction: Transaction<P>, context: HandlerContext<S>): Eventually<R>;
  /** Runs after `process` succeeded; a failure here routes to `onException` too. */
  onSuccess?(
    transaction: Transaction<P>,
    result: R,
    context: HandlerContext<S>,
  ): Eventually<unknown>;
  /**
   * Handles a failed lifecycle (the error says which stage failed and why). Succeeding here
   * means "handled": the transaction is acked. Without it, failures are dead-lettered.
   */
  onException?(
    transaction: Transaction<P>,
    error: TransactionError,
    context: HandlerContext<S>,
  ): Eventually<unknown>;
  /** Handed to every handler as `context.services`. */
  readonly services?: S;
  /** Handlers' `context.logger` (default: the loglevel logger `ergon.<name>`). */
  readonly logger?: Logger;
}

/** A validated consumer task, ready for {@link consume} or {@link processWith}. */
export interface ConsumerTask<
  P = unknown,
  R = unknown,
  S = undefined,
> extends ConsumerTaskDefinition<P, R, S> {
  readonly kind: 'consumer';
  readonly name: string;
  readonly services: S;
  readonly logger: Logger;
}

/**
 * Defines a consumer task from its handlers. Types flow from `process`: annotate its
 * transaction parameter and the outcome types follow.
 *
 * @example
 * ```ts
 * const task = consumerTask({
 *   name: 'resize',
 *   process: async (tx: Transaction<{ url: string }>, { signal }) => resize(tx.payload.url, { signal }),
 *   onException: (tx, error, { logger }) => logger.warn('resize failed', tx.id, error.message),
 * });
 * ```
 * @throws TaskDefinitionError when a handler is missing or not a function.
 */
export function consumerTask<P = unknown, R = unknown, S = undefined>(
  definition: ConsumerTaskDefinition<P, R, S>,
): ConsumerTask<P, R, S> {
  const name = definition.name ?? 'consumer';
  requireHandler(name, 'process', definition.process, true);
  requireHandler(name, 'onSuccess', definition.onSuccess, false);
  requireHandler(name, 'onException', definition.onException, false);
  return Object.freeze({
    kind: 'consumer',
    name,
    process: definition.process.bind(definition),
    onSuccess: definition.onSuccess?.bind(definition),
    onException: definition.onException?.bind(definition),
    services: definition.services as S,
    logger: definition.logger ?? log.getLogger(`ergon.${name}`),
  });
}
