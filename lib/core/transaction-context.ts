import { createContextKey, type Context } from '@opentelemetry/api';

/**
 * The OpenTelemetry context key under which the engine keeps the id of the transaction being
 * processed, so log records written by its handlers (also from their timers and promises) carry
 * `transaction_id`. Depends on `@opentelemetry/api` only.
 */
export const transactionIdKey: symbol = createContextKey('ergon.transaction.id');

/** The context key under which the engine keeps the name of the task that runs the code. */
export const taskNameKey: symbol = createContextKey('ergon.task.name');

/**
 * A copy of `ctx` that names `id` as the transaction being processed.
 *
 * @example
 * ```ts
 * context.with(withTransactionId(trace.setSpan(context.active(), span), tx.id), () => run());
 * ```
 */
export function withTransactionId(ctx: Context, id: string): Context {
  return ctx.setValue(transactionIdKey, id);
}

/**
 * A copy of `ctx` that names `name` as the task running the code.
 *
 * @example
 * ```ts
 * context.with(withTaskName(context.active(), task.name), () => loop());
 * ```
 */
export function withTaskName(ctx: Context, name: string): Context {
  return ctx.setValue(taskNameKey, name);
}

/**
 * The transaction id `ctx` carries, if any.
 *
 * @example
 * ```ts
 * transactionIdIn(context.active()); // 'order-17' inside a handler, undefined outside
 * ```
 */
export function transactionIdIn(ctx: Context): string | undefined {
  const id = ctx.getValue(transactionIdKey);
  return typeof id === 'string' ? id : undefined;
}

/**
 * The task name `ctx` carries, if any.
 *
 * @example
 * ```ts
 * taskNameIn(context.active()); // 'charge-orders' inside the loop of that task
 * ```
 */
export function taskNameIn(ctx: Context): string | undefined {
  const name = ctx.getValue(taskNameKey);
  return typeof name === 'string' ? name : undefined;
}
