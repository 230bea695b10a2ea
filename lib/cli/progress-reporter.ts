import { finalize, tap, type MonoTypeOperatorFunction } from 'rxjs';
import { isOutcome, outcomeStatuses, type OutcomeStatus } from '../core/outcome.js';

/** Where a {@link ProgressReporter} writes: `process.stdout` or anything with `write`. */
export interface ProgressStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
}

/** Options of {@link ProgressReporter} and {@link reportProgress}. */
export interface ProgressReporterOptions {
  /** Where to write (default `process.stdout`). */
  readonly stream?: ProgressStream;
  /** Draw a live line (default: `stream.isTTY`); otherwise write JSON lines only. */
  readonly tty?: boolean;
  /** Least time between two redraws of the live line, in ms (default 200). */
  readonly redrawInterval?: number;
  /** How many transactions are in flight, when the caller knows; omitted from the line otherwise. */
  readonly inFlight?: () => number;
  /** The clock (default `Date.now`). */
  readonly now?: () => number;
}

/** Counts of a run so far, as the summary reports them. */
export interface ProgressSummary {
  /** Outcomes seen (every status). */
  readonly processed: number;
  /** Outcomes with status `failed` or `timeout`. */
  readonly failures: number;
  /** Outcomes by status. */
  readonly statuses: Readonly<Record<OutcomeStatus, number>>;
  /** Milliseconds since the reporter started. */
  readonly elapsedMs: number;
  /** Outcomes per second over the whole run. */
  readonly ratePerSecond: number;
}

/** The status of `value` when it looks like an outcome, `undefined` otherwise. */
function statusOf(value: unknown): OutcomeStatus | undefined {
  return isOutcome(value) ? value.status : undefined;
}

const clearLine = '\r\x1b[2K';

/**
 * Counts outcomes and reports them: on a TTY a live single line
 * (`processed N (rate/s) · in flight M · failures K`) redrawn at most every
 * `redrawInterval` ms, then a summary line; elsewhere one JSON summary line
 * (`{"type":"summary",…}`) and nothing else. Values that are not outcomes are ignored.
 */
export class ProgressReporter {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly redrawInterval: number;
  private readonly inFlight: (() => number) | undefined;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly statuses: Record<OutcomeStatus, number> = {
    success: 0,
    exception: 0,
    failed: 0,
    timeout: 0,
    released: 0,
  };
  private processed = 0;
  private lastDrawAt = Number.NEGATIVE_INFINITY;
  private redrawTimer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(options: ProgressReporterOptions = {}) {
    this.stream = options.stream ?? process.stdout;
    this.tty = options.tty ?? this.stream.isTTY === true;
    this.redrawInterval = options.redrawInterval ?? 200;
    this.inFlight = options.inFlight;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Counts one emitted value (ignored unless it is an outcome) and redraws when due. */
  record(value: unknown): void {
    const status = statusOf(value);
    if (status === undefined || this.finished) return;
    this.processed++;
    this.statuses[status]++;
    if (this.tty) this.scheduleRedraw();
  }

  /** The counts so far. */
  summary(): ProgressSummary {
    const elapsedMs = Math.max(0, this.now() - this.startedAt);
    return {
      processed: this.processed,
      failures: this.statuses.failed + this.statuses.timeout,
      statuses: { ...this.statuses },
      elapsedMs,
      ratePerSecond: elapsedMs === 0 ? 0 : round((this.processed * 1000) / elapsedMs),
    };
  }

  /** The live line as drawn on a TTY. */
  line(): string {
    const { processed, failures, ratePerSecond } = this.summary();
    const parts = [`processed ${processed} (${ratePerSecond}/s)`];
    if (this.inFlight !== undefined) parts.push(`in flight ${this.inFlight()}`);
    parts.push(`failures ${failures}`);
    return parts.join(' · ');
  }

  /** Writes the summary (once): a final line on a TTY, a JSON line otherwise. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.redrawTimer);
    const summary = this.summary();
    if (this.tty) {
      const statuses = outcomeStatuses.map((status) => `${status} ${summary.statuses[status]}`);
      this.stream.write(
        `${clearLine}done: processed ${summary.processed} in ${round(summary.elapsedMs / 1000)} s ` +
          `(${summary.ratePerSecond}/s) · ${statuses.join(' · ')}\n`,
      );
    } else {
      this.stream.write(`${JSON.stringify({ type: 'summary', ...summary })}\n`);
    }
  }

  private scheduleRedraw(): void {
    if (this.redrawTimer !== undefined) return;
    const wait = this.lastDrawAt + this.redrawInterval - this.now();
    if (wait <= 0) {
      this.draw();
      return;
    }
    this.redrawTimer = setTimeout(() => {
      this.redrawTimer = undefined;
      this.draw();
    }, wait);
    this.redrawTimer.unref?.();
  }

  private draw(): void {
    if (this.finished) return;
    this.lastDrawAt = this.now();
    this.stream.write(`${clearLine}${this.line()}`);
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * An operator that reports the progress of a stream of outcomes with a
 * {@link ProgressReporter} (live line on a TTY, JSON summary otherwise) and writes the summary
 * when the stream completes, errors or is unsubscribed. Values pass through unchanged.
 *
 * @example
 * ```ts
 * consume(connector, task, policy, { stop$ }).pipe(reportProgress({ stream: process.stdout }));
 * ```
 */
export function reportProgress<T>(
  options: ProgressReporterOptions = {},
): MonoTypeOperatorFunction<T> {
  return (source) => {
    let reporter: ProgressReporter | undefined;
    return source.pipe(
      tap({
        subscribe: () => void (reporter = new ProgressReporter(options)),
        next: (value) => reporter?.record(value),
      }),
      finalize(() => reporter?.finish()),
    );
  };
}
