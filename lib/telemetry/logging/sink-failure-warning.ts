import { describeError } from '../../core/renderers.js';

/**
 * Tells about a failing log sink without flooding: the first failure becomes a process
 * warning (`ErgonLogSinkWarning`, shown on stderr by default), later ones are silent until a
 * write succeeds again. Logging never throws into the caller, so this is the only trace a
 * broken sink leaves.
 *
 * @example
 * ```ts
 * const warning = new SinkFailureWarning('file sink app.log');
 * try { append(line); warning.clear(); } catch (error) { warning.raise(error); }
 * ```
 */
export class SinkFailureWarning {
  private raised = false;

  constructor(private readonly sink: string) {}

  raise(error: unknown): void {
    if (this.raised) return;
    this.raised = true;
    process.emitWarning(`${this.sink} failed: ${describeError(error)}`, 'ErgonLogSinkWarning');
  }

  clear(): void {
    this.raised = false;
  }
}
