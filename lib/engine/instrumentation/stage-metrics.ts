import type { Attributes } from '@opentelemetry/api';
import type { EngineMetrics } from './engine-metrics.js';
import type { CounterTotal } from './observed-counter.js';

/** How an attempt ended, as the `outcome` of `*.lifecycle.attempts`. */
export type AttemptOutcome = 'ok' | 'error' | 'cancelled';

/**
 * The measurements of one lifecycle stage of a run (`process`, `success`…), with its
 * attribute sets built once per run: an attempt only increments a number, a stage's end adds
 * one and records its duration with a ready attribute object.
 */
export class StageMetrics {
  private readonly attemptTotals = new Map<AttemptOutcome, CounterTotal>();
  private readonly ok: Attributes;
  private readonly error: Attributes;
  private okTotal: CounterTotal | null = null;
  private errorTotal: CounterTotal | null = null;

  constructor(
    private readonly instruments: EngineMetrics,
    /** The run's attributes plus `stage`. */
    private readonly base: Attributes,
  ) {
    this.ok = { ...base, outcome: 'ok' };
    this.error = { ...base, outcome: 'error' };
  }

  attemptEnded(outcome: AttemptOutcome): void {
    let total = this.attemptTotals.get(outcome);
    if (total === undefined) {
      total = this.instruments.attempts.total({ ...this.base, outcome });
      this.attemptTotals.set(outcome, total);
    }
    total.value++;
  }

  /** The stage ended after `seconds` (all attempts and backoff). */
  ended(ok: boolean, seconds: number): void {
    const attributes = ok ? this.ok : this.error;
    const total = ok
      ? (this.okTotal ??= this.instruments.stageOutcomes.total(attributes))
      : (this.errorTotal ??= this.instruments.stageOutcomes.total(attributes));
    total.value++;
    this.instruments.stageDuration.record(seconds, attributes);
  }
}
