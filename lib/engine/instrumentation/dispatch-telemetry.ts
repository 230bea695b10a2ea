import { SpanKind, trace, type Context, type Link, type Span } from '@opentelemetry/api';
import { failSpan, type RunTelemetry } from './run-telemetry.js';
import type { StageObserver } from './stage-observer.js';

const maxLinks = 128;

/**
 * Telemetry of one batch's dispatch: a `send <task>` producer span per attempt, entered
 * around `connector.dispatch`, a child of the first transaction's context and linked to the
 * others' (a batch mixes transactions from many traces), plus the dispatch metrics.
 */
export class DispatchTelemetry implements StageObserver {
  private span: Span | null = null;
  private readonly parent: Context;
  private readonly links: Link[];

  constructor(
    private readonly run: RunTelemetry,
    contexts: readonly (Context | null)[],
    private readonly size: number,
  ) {
    const known = contexts.filter(
      (entry): entry is Context => entry !== null && trace.getSpanContext(entry) !== undefined,
    );
    this.parent = known[0] ?? run.runContext;
    this.links = [];
    for (const entry of known.slice(1, maxLinks + 1)) {
      const spanContext = trace.getSpanContext(entry);
      if (spanContext !== undefined) this.links.push({ context: spanContext });
    }
  }

  attemptStarted(attempt: number): Context {
    if (!this.run.tracing) return this.parent;
    this.span = this.run.startSpan(
      `send ${this.run.taskName}`,
      SpanKind.PRODUCER,
      {
        ...this.run.attributes,
        'ergon.stage': 'dispatch',
        'ergon.attempt': attempt,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'dispatch',
        'messaging.batch.message_count': this.size,
      },
      this.parent,
      this.links,
    );
    return trace.setSpan(this.parent, this.span);
  }

  attemptEnded(error: unknown): void {
    const span = this.span;
    if (span === null) return;
    this.span = null;
    if (error !== undefined) failSpan(span, error);
    span.end();
  }

  attemptCancelled(): void {
    this.attemptEnded(undefined);
  }

  stageEnded(ok: boolean): void {
    this.run.metrics?.dispatchEnded(ok, this.size);
  }
}
