import type { SchedulerLike } from 'rxjs';

/** Options shared by the engine's operators. */
export interface EngineOptions {
  /**
   * Where timeouts, backoff and pauses are scheduled (default `asyncScheduler`). Inside
   * `TestScheduler.run` the default is already virtual; pass one only to pin another.
   */
  readonly scheduler?: SchedulerLike;
}
