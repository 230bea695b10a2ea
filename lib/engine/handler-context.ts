import type { Logger } from '../core/logging.js';
import type { Stage } from '../core/errors.js';

/** What every attempt of a function run by {@link attempt} receives. */
export interface AttemptInfo {
  /**
   * Aborts when the attempt times out or its subscription is torn down (stop, unsubscribe,
   * runtime budget). Pass it to `fetch`, drivers and timers so cancelled work really stops.
   */
  readonly signal: AbortSignal;
  /** 1-based number of this attempt. */
  readonly attempt: number;
}

/** What a task's handlers receive besides the transaction. */
export interface HandlerContext<S = unknown> extends AttemptInfo {
  /** The lifecycle stage this handler runs in. */
  readonly stage: Stage;
  /** The task's services (clients, pools, APIs) as given to the task definition. */
  readonly services: S;
  readonly logger: Logger;
}

/** The parts of a handler context shared by every attempt of one task. */
export interface HandlerScope<S> {
  readonly services: S;
  readonly logger: Logger;
}

/**
 * One attempt's context. The `AbortController` is created only when a handler reads
 * `signal`, so handlers that never look at it cost no allocation.
 */
export class AttemptContext<S = unknown> implements HandlerContext<S> {
  private controller: AbortController | undefined;
  private abortReason: unknown;
  private aborted = false;

  constructor(
    readonly attempt: number,
    readonly stage: Stage,
    private readonly scope: HandlerScope<S>,
  ) {}

  get services(): S {
    return this.scope.services;
  }

  get logger(): Logger {
    return this.scope.logger;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}
