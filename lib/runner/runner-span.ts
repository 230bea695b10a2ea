import { SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { describeError } from '../core/describe-error.js';

/**
 * Runs one step of a task's life (`create connector orders`, `run`, `close service db`, …)
 * inside a span of the `ergon-rx.runner` tracer, active for the step's own async work; a step
 * that throws marks its span failed. A no-op span when no SDK is registered.
 *
 * @example
 * ```ts
 * const connector = await runnerSpan('create connector orders', {}, () => factory(context));
 * ```
 */
export function runnerSpan<T>(
  name: string,
  attributes: Attributes,
  step: () => Promise<T>,
): Promise<T> {
  return trace.getTracer('ergon-rx.runner').startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await step();
    } catch (error) {
      span.recordException(error instanceof Error ? error : describeError(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}
