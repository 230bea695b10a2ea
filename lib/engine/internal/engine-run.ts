import { Observable, type OperatorFunction, type Subscriber, type Subscription } from 'rxjs';
import type { EngineClock } from './engine-clock.js';
import type { RunTelemetry } from './instrumentation/run-telemetry.js';

/**
 * Runs a step function safely under re-entrancy: a `run()` made while a pass is running, or
 * while the trampoline is held, only asks for one more pass, so events that arrive in the
 * middle of a pass (a synchronous handler finishing, a stop signal fired from inside a
 * handler, a synchronous dispatch completing) never deepen the stack or interleave passes.
 */
export class Trampoline {
  private running = false;
  private again = false;
  private holds = 0;

  /**
   * `owner.pass` is one pass (a method rather than a closure per run: optimized code calling
   * it stays valid for the next run).
   */
  constructor(private readonly owner: { pass(): void }) {}

  run(): void {
    if (this.running || this.holds > 0) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        this.owner.pass();
      } while (this.again && this.holds === 0);
    } finally {
      this.running = false;
    }
  }

  /**
   * Holds passes back (while a value is being emitted, say) until the matching `release`;
   * the caller runs again afterwards.
   */
  hold(): void {
    this.holds++;
  }

  release(): void {
    this.holds--;
  }
}

/**
 * The skeleton every engine driver shares (`consume`, `produce`, `processWith`,
 * `dispatchTo`), in the spirit of RxJS's `OperatorSubscriber`: re-entrancy safe passes
 * (`pump` → `step`), emission with passes held back, the run's failure box, and the two
 * ways a run ends: `finish` (dispose → end telemetry → error or complete) and `teardown`
 * (the subscriber unsubscribed: cancel → dispose → end telemetry, nothing emitted).
 */
export abstract class EngineRun<O> {
  /** Ended (finished or torn down): passes do nothing any more. */
  protected finished = false;
  /** Why the run fails once it drained (a source error, a loop timeout…); boxed, so any value can be one. */
  protected failure: { readonly error: unknown } | null = null;
  /**
   * Re-entrancy safe passes; held while a value is emitted (the caller pumps after it). The
   * deadlines a pass registers share one clock reading, taken when it ends.
   */
  private readonly trampoline = new Trampoline(this);

  constructor(
    protected readonly subscriber: Subscriber<O>,
    protected readonly clock: EngineClock,
    protected readonly telemetry: RunTelemetry,
  ) {
    // V8 treats a field that was never rewritten as a constant of its class, and its first
    // change throws away every optimized function that read it (`code dependencies` in
    // `--trace-deopt`). A flag that changes once, when a run ends, thus discarded the whole hot
    // path at the end of a process's first run, to be optimized again during the next one.
    // Flags like that are written once here, so they are ordinary fields before any code is
    // optimized (subclasses do the same with theirs).
    this.finished = true;
    this.finished = false;
  }

  /** Hard stop (unsubscribe): cancel everything now; nothing more is emitted. */
  teardown(): void {
    if (this.finished) return;
    this.finished = true;
    this.cancel();
    this.dispose();
    this.telemetry.end();
  }

  /** Runs a pass now, or one more after the current one (see {@link Trampoline}). */
  protected pump(): void {
    this.trampoline.run();
  }

  /** One pass of the trampoline: {@link step}, its deadlines stamped with one clock reading. */
  pass(): void {
    this.clock.beginPass();
    try {
      this.step();
    } finally {
      this.clock.endPass();
    }
  }

  /** One pass: start what may start, and `finish` when everything is done. */
  protected abstract step(): void;

  /** Cancels what is in flight, for `teardown`. */
  protected abstract cancel(): void;

  /**
   * Emits a value. Whatever the subscriber does meanwhile (stop the run, say), passes go on
   * only after this value passed: the caller pumps right after.
   */
  protected emit(value: O): void {
    this.trampoline.hold();
    try {
      this.subscriber.next(value);
    } finally {
      this.trampoline.release();
    }
  }

  /** Holds passes back around work that must not start new work on the way. */
  protected held(work: () => void): void {
    this.trampoline.hold();
    try {
      work();
    } finally {
      this.trampoline.release();
    }
  }

  /** Frees the run's time: every timer and deadline (subclasses add their own timers). */
  protected dispose(): void {
    this.clock.dispose();
  }

  /** The run is over: dispose, end its telemetry, then error with its failure or complete. */
  protected finish(): void {
    this.finished = true;
    this.dispose();
    const failure = this.failure;
    this.telemetry.end(failure === null ? undefined : failure.error);
    if (failure === null) this.subscriber.complete();
    else this.subscriber.error(failure.error);
  }
}

/** An {@link EngineRun} fed by a source Observable (see {@link engineOperator}). */
export abstract class SourceRun<I, O> extends EngineRun<O> {
  /** The source completed or failed: nothing more comes in. */
  protected sourceDone = false;

  constructor(subscriber: Subscriber<O>, clock: EngineClock, telemetry: RunTelemetry) {
    super(subscriber, clock, telemetry);
    // Changes once, at the source's end: an ordinary field from the start (see EngineRun).
    this.sourceDone = true;
    this.sourceDone = false;
  }

  /** A value of the source. */
  abstract take(input: I): void;

  /** The source ended; `failure` is its error, boxed, or `null` when it completed. */
  sourceEnded(failure: { readonly error: unknown } | null): void {
    if (this.sourceDone) return;
    this.sourceDone = true;
    this.failure ??= failure;
    this.pump();
  }
}

/**
 * The operator skeleton of the engine's source-fed drivers, like RxJS's `operate`: each
 * subscription creates one run (`start` gets the subscriber and a function that stops
 * taking input from the source), feeds it the source's values and end, and tears it down
 * on unsubscribe. A run that ended (or stopped its intake) while the source was being
 * subscribed unsubscribes it at once.
 */
export function engineOperator<I, O>(
  start: (subscriber: Subscriber<O>, stopIntake: () => void) => SourceRun<I, O>,
): OperatorFunction<I, O> {
  return (source) =>
    new Observable<O>((subscriber) => {
      let subscription: Subscription | null = null;
      let intakeStopped = false;
      const run = start(subscriber, () => {
        intakeStopped = true;
        subscription?.unsubscribe();
      });
      subscriber.add(() => {
        subscription?.unsubscribe();
        run.teardown();
      });
      subscription = source.subscribe({
        next: (input) => run.take(input),
        error: (error: unknown) => run.sourceEnded({ error }),
        complete: () => run.sourceEnded(null),
      });
      if (intakeStopped || subscriber.closed) subscription.unsubscribe();
    });
}
