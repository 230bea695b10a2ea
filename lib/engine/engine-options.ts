import type { SchedulerLike } from 'rxjs';

/** Options shared by the engine's operators. */
export interface EngineOptions {
  /**
   * Where timeouts, backoff and pauses are scheduled (default `asyncScheduler`). Inside
   * `TestScheduler.run` the default is already virtual; pass one only to pin another.
   */
  readonly scheduler?: SchedulerLike;
  /**
   * Names the run in telemetry where there is no task to name it (`dispatchTo`,
   * `createDispatcher`); default `dispatchTo` / `dispatcher`.
   */
  readonly name?: string;
}
