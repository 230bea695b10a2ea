/**
 * Whether the engine is running inside the callback of a handler's or a settlement's
 * Promise. Completions that arrive that way come in bursts (every promise resolved in one
 * tick), so the continuous loop refills once after the burst instead of once per
 * completion. Completions from Observables and synchronous handlers (including everything
 * in `TestScheduler.run`) refill at once, which keeps virtual time exact.
 */
let depth = 0;

export function enterPromiseReaction(): void {
  depth++;
}

export function leavePromiseReaction(): void {
  depth--;
}

export function inPromiseReaction(): boolean {
  return depth > 0;
}
