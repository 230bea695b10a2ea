import { SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import { failSpan, type RunTelemetry } from './run-telemetry.js';
import type { StageObserver } from './stage-observer.js';

/** What the loop tells the fetch telemetry about the fetch in progress. */
export interface FetchProgress {
  /** Transactions the current fetch returned so far. */
  received(): number;
  /** The batch span the fetched transactions belong to, if any. */
  batch(): Span | null;
}

/**
 * Telemetry of the fetch stage. A streaming loop polls an empty queue for days, so a span per
 * empty poll would bury the real traces: an attempt gets its span (`fetch attempt`, made
 * after the fact with the attempt's start time) only when it returned transactions (a child
 * of their batch span) or failed; every fetch is counted in the metrics.
 */
export class FetchTelemetry implements StageObserver {
  private attempt = 0;
  private attemptStart = 0;
  private readonly started: number;

  constructor(
    private readonly run: RunTelemetry,
    private readonly progress: FetchProgress,
  ) {
    this.started = performance.now();
  }

  attemptStarted(attempt: number): Context {
    this.attempt = attempt;
    this.attemptStart = Date.now();
    return this.run.runContext;
  }

  attemptEnded(error: unknown): void {
    if (!this.run.tracing) return;
    const received = this.progress.received();
    if (error === undefined && received === 0) return;
    const batch = this.progress.batch();
    const parent = batch === null ? this.run.runContext : trace.setSpan(this.run.runContext, batch);
    const span = this.run.startSpan(
      'fetch attempt',
      SpanKind.CLIENT,
      {
        ...this.run.attributes,
        'ergon.stage': 'fetch',
        'ergon.attempt': this.attempt,
        'messaging.operation.type': 'receive',
        'messaging.operation.name': 'fetch',
        'messaging.batch.message_count': received,
      },
      parent,
      undefined,
      this.attemptStart,
    );
    if (error !== undefined) failSpan(span, error);
    span.end();
  }

  attemptCancelled(): void {
    this.attemptEnded(undefined);
  }

  stageEnded(ok: boolean): void {
    this.run.metrics?.fetchEnded(
      ok,
      (performance.now() - this.started) / 1000,
      this.progress.received(),
    );
  }
}
