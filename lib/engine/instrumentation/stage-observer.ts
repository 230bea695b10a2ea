import { SpanKind, trace, type Context, type Span } from '@opentelemetry/api';
import type { CancellationError, Stage } from '../../core/errors.js';
import { failSpan, type RunTelemetry } from './run-telemetry.js';
import type { StageMetrics } from './stage-metrics.js';

/** What a stage run reports about its attempts; see {@link StageTelemetry}. */
export interface StageObserver {
  /** An attempt starts; returns the context to enter around the handler. */
  attemptStarted(attempt: number): Context;
  /** The attempt ended: `error` is `undefined` on success. */
  attemptEnded(error: unknown): void;
  /** The attempt was cancelled from outside (stop, unsubscribe): not a failure of the handler. */
  attemptCancelled(reason: CancellationError): void;
  /** The stage ended after its last attempt (or was cancelled, `ok` false). */
  stageEnded(ok: boolean): void;
}

/**
 * Telemetry of one lifecycle stage under a transaction: a span per attempt (`<stage>
 * attempt`, attribute `ergon.attempt`, ERROR with the exception when it failed), entered
 * around the handler so its own work and logs see it, plus the attempt and stage metrics.
 */
export class StageTelemetry implements StageObserver {
  private span: Span | null = null;
  private readonly metrics: StageMetrics | null;
  private readonly started: number;

  constructor(
    private readonly run: RunTelemetry,
    private readonly parent: Context,
    private readonly stage: Stage,
  ) {
    this.metrics = run.metrics === null ? null : run.metrics.stage(stage);
    this.started = this.metrics === null ? 0 : performance.now();
  }

  attemptStarted(attempt: number): Context {
    if (!this.run.tracing) return this.parent;
    this.span = this.run.startSpan(
      `${this.stage} attempt`,
      SpanKind.INTERNAL,
      { 'ergon.stage': this.stage, 'ergon.attempt': attempt },
      this.parent,
    );
    return trace.setSpan(this.parent, this.span);
  }

  attemptEnded(error: unknown): void {
    this.metrics?.attemptEnded(error === undefined ? 'ok' : 'error');
    const span = this.span;
    if (span === null) return;
    this.span = null;
    if (error !== undefined) failSpan(span, error);
    span.end();
  }

  attemptCancelled(reason: CancellationError): void {
    this.metrics?.attemptEnded('cancelled');
    const span = this.span;
    if (span === null) return;
    this.span = null;
    span.setAttribute('ergon.cancelled', reason.reason);
    span.end();
  }

  stageEnded(ok: boolean): void {
    this.metrics?.ended(ok, (performance.now() - this.started) / 1000);
  }
}
