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
   * `createDispatcher`; default `dispatchTo` / `dispatcher`), and the attempt spans of
   * `attempt()` (`<name> attempt`; default `attempt`).
   */
  readonly name?: string;
  /**
   * `false`: the run starts no spans, even with a tracer provider registered; its metrics, and
   * its log records' transaction ids, are unaffected. For a task whose handlers do so little
   * that creating spans would cost more than the work (see docs/telemetry.md, "Cost"). Default
   * `true`.
   */
  readonly traces?: boolean;
}
