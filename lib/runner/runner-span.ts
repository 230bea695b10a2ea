import { trace, type Attributes } from '@opentelemetry/api';
import { failSpan } from '../engine/internal/instrumentation/run-telemetry.js';

/**
 * Runs one step of a task's life (`create connector orders`, `run`, `close service db`, …)
 * inside a span of the `ergon-rx.runner` tracer, active for the step's own async work; a step
 * that throws marks its span failed (whatever it threw). A no-op span when no SDK is registered.
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
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
