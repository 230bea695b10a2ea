import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-node';

/** How many failed transactions' trace ids are kept until their outcome asks for them. */
const KEPT = 1_000;

const failing: readonly unknown[] = ['failed', 'timeout', 'exception'];

/**
 * Remembers the trace id of each transaction span that ends failed (`ergon.outcome` failed,
 * timeout or exception), by transaction id, for the dashboard's failure list. The engine ends
 * a transaction's span before it settles it and emits its outcome, so the id is there when the
 * outcome arrives. Bounded: the oldest ids go first.
 */
export class FailureTraceProcessor implements SpanProcessor {
  private readonly traces = new Map<string, string>();

  /** The trace id of a failed transaction's span, once (it is forgotten when read). */
  take(transactionId: string): string | null {
    const traceId = this.traces.get(transactionId);
    if (traceId === undefined) return null;
    this.traces.delete(transactionId);
    return traceId;
  }

  onStart(_span: Span, _parentContext: Context): void {
    // Only ended spans carry the outcome.
  }

  onEnd(span: ReadableSpan): void {
    const id = span.attributes['ergon.transaction.id'];
    if (typeof id !== 'string' || !failing.includes(span.attributes['ergon.outcome'])) return;
    this.traces.delete(id);
    this.traces.set(id, span.spanContext().traceId);
    if (this.traces.size > KEPT) {
      const oldest = this.traces.keys().next();
      if (oldest.done !== true) this.traces.delete(oldest.value);
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.traces.clear();
    return Promise.resolve();
  }
}
