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

  constructor(private readonly step: () => void) {}

  run(): void {
    if (this.running || this.holds > 0) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        this.step();
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
