import log from 'loglevel';
import type { Eventually } from '../core/connector.js';
import type { Logger } from '../core/logging.js';
import type { Transaction } from '../core/transaction.js';
import type { TransactionError } from '../core/errors.js';
import type { HandlerContext } from './handler-context.js';
import { TaskDefinitionError } from './errors.js';
import type { ConsumerPolicy } from '../policy/consumer-policy.js';

/** What consumer and producer task definitions share: a name, failure handling, services. */
export interface TaskDefinitionBase<P, S> {
  /** Names the task in logs, spans and metrics (default `consumer` or `producer`). */
  readonly name?: string;
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

/** What a consumer task holds besides its main handler. */
export interface ConsumerHandlers<P, R, S> extends TaskDefinitionBase<P, S> {
  /**
   * The transaction's ordering key (`undefined`: none). Transactions of one key start in
   * fetch order and at most `loop.keyConcurrency.value` (default 1) of them run at a time,
   * each until its settlement ended (retries, timeouts and `onException` included). Called
   * once per transaction when it is fetched; a throw fails that transaction (stage `key`).
   */
  key?(transaction: Transaction<P>): string | undefined;
  /** Runs after `process` succeeded; a failure here routes to `onException` too. */
  onSuccess?(
    transaction: Transaction<P>,
    result: R,
    context: HandlerContext<S>,
  ): Eventually<unknown>;
}

/** A consumer that handles one transaction at a time. */
export interface PerTransactionConsumer<P, R, S> extends ConsumerHandlers<P, R, S> {
  /** Does the work. Throw (or reject, or error) to fail; retried per `process.retry`. */
  process(transaction: Transaction<P>, context: HandlerContext<S>): Eventually<R>;
  readonly processBatch?: undefined;
}

/** One transaction's result in a batch: its value, or why it failed. */
export type BatchItemResult<R> =
  { readonly ok: true; readonly value?: R } | { readonly ok: false; readonly error: unknown };

/** A consumer that handles transactions in batches (a multi-row write, a bulk API call). */
export interface BatchConsumer<P, R, S> extends ConsumerHandlers<P, R, S> {
  /**
   * Does the work for up to `process.batch.size` transactions at once (fewer when
   * `process.batch.maxWait` passed first), returning one result per transaction, in the
   * order given. Each transaction then goes on alone: `onSuccess` with its value, or
   * `onException` with its error (not retried). Throwing fails the whole call: it is
   * retried per `process.retry`, then split in halves (down to single transactions) so only
   * the transactions that fail on their own reach `onException`.
   */
  processBatch(
    transactions: readonly Transaction<P>[],
    context: HandlerContext<S>,
  ): Eventually<readonly BatchItemResult<R>[]>;
  readonly process?: undefined;
}

/** The business logic of a consumer: `process` or `processBatch`, and what comes after. */
export type ConsumerTaskDefinition<P, R, S> =
  PerTransactionConsumer<P, R, S> | BatchConsumer<P, R, S>;

/** A validated consumer task, ready for {@link consume} or {@link processWith}. */
export type ConsumerTask<P = unknown, R = unknown, S = undefined> = ConsumerTaskDefinition<
  P,
  R,
  S
> & {
  readonly kind: 'consumer';
  readonly name: string;
  readonly services: S;
  readonly logger: Logger;
};

/**
 * Defines a consumer task from its handlers: `process` (one transaction at a time) or
 * `processBatch` (several at once). Types flow from it: annotate its transaction parameter
 * and the outcome types follow.
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
  const base = taskBase('consumer', definition);
  requireHandler(base.name, 'key', definition.key, false);
  const common = {
    ...base,
    kind: 'consumer' as const,
    key: definition.key?.bind(definition),
    onSuccess: definition.onSuccess?.bind(definition),
  };
  if (definition.processBatch === undefined) {
    requireHandler(base.name, 'process', definition.process, true);
    return Object.freeze({ ...common, process: definition.process.bind(definition) });
  }
  if (definition.process !== undefined) {
    throw new TaskDefinitionError(
      `task "${base.name}": give either process or processBatch, not both`,
    );
  }
  requireHandler(base.name, 'processBatch', definition.processBatch, true);
  return Object.freeze({ ...common, processBatch: definition.processBatch.bind(definition) });
}

/** The business logic of a producer: what to send for a transaction, and after. */
export interface ProducerTaskDefinition<P, O, S> extends TaskDefinitionBase<P, S> {
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
  const base = taskBase('producer', definition);
  requireHandler(base.name, 'prepare', definition.prepare, false);
  return Object.freeze({
    ...base,
    kind: 'producer',
    prepare: definition.prepare?.bind(definition),
    onSuccess: definition.onSuccess?.bind(definition),
  });
}

/**
 * The checked parts every task shares: its name (default: its kind), a bound `onException`,
 * its services and its logger. `onSuccess` is checked here too; each kind binds its own.
 */
function taskBase<P, S>(
  kind: 'consumer' | 'producer',
  definition: TaskDefinitionBase<P, S> & { readonly onSuccess?: unknown },
) {
  const name = definition.name ?? kind;
  requireHandler(name, 'onSuccess', definition.onSuccess, false);
  requireHandler(name, 'onException', definition.onException, false);
  return {
    name,
    onException: definition.onException?.bind(definition),
    services: definition.services as S,
    logger: definition.logger ?? log.getLogger(`ergon.${name}`),
  };
}

/** Fails fast, with a clear message, when something other than a `consumerTask()` is passed. */
export function requireConsumerTask(task: unknown, caller: string): void {
  if ((task as Partial<ConsumerTask> | null)?.kind !== 'consumer') {
    throw new TaskDefinitionError(
      `${caller} expects a task made by consumerTask({ process, … }), got ${
        task === null ? 'null' : typeof task
      }`,
    );
  }
}

/**
 * Fails fast when the policy asks for something per key and the task has no `key`: the
 * setting would do nothing, which is almost certainly not what was meant.
 */
export function requireKeyForKeyPolicy(
  task: ConsumerTask<unknown, unknown, unknown>,
  policy: ConsumerPolicy,
  caller: string,
): void {
  if (policy.loop.keyRateLimit !== null && task.key === undefined) {
    throw new TaskDefinitionError(
      `${caller}: loop.keyRateLimit limits each key, but task "${task.name}" has no key; give consumerTask a key function, or use loop.rateLimit to limit the whole loop`,
    );
  }
}

/** Checks one handler of a task definition: a function, or absent when optional. */
function requireHandler(task: string, key: string, handler: unknown, required: boolean): void {
  if (handler === undefined && !required) return;
  if (typeof handler !== 'function') {
    throw new TaskDefinitionError(
      `task "${task}": ${key} must be a function, got ${handler === null ? 'null' : typeof handler}`,
    );
  }
}

/** Fails fast, with a clear message, when something other than a `producerTask()` is passed. */
export function requireProducerTask(task: unknown, caller: string): void {
  if ((task as Partial<ProducerTask> | null)?.kind !== 'producer') {
    throw new TaskDefinitionError(`${caller} expects a task made by producerTask({ prepare?, … })`);
  }
}
