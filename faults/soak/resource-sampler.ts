import { EventEmitter } from 'node:events';
import type { SoakSample } from '../support/fault-result.js';

const MiB = 1024 * 1024;

/** What {@link listenersOf} reads of an emitter (`process` included, typed as an interface). */
interface ListenerCounts {
  eventNames(): (string | symbol)[];
  listenerCount(eventName: string | symbol): number;
}

function listenersOf(emitter: ListenerCounts): number {
  let count = 0;
  for (const event of emitter.eventNames()) count += emitter.listenerCount(event);
  return count;
}

/**
 * Samples the process it runs in at a fixed interval: resident set size and V8 heap
 * (`process.memoryUsage()`), active resources (`process.getActiveResourcesInfo()`: handles,
 * requests and timers, the timers also on their own), listeners on `process` and on the
 * emitters it was told to {@link ResourceSampler.watch}, and how many transactions were
 * settled so far.
 *
 * Its own interval timer is one of the timers it counts, a constant.
 *
 * @example
 * ```ts
 * const sampler = new ResourceSampler(() => tally.settled, (sample) => process.send?.(sample));
 * sampler.watch(pool);
 * sampler.start(1000);
 * // …
 * sampler.stop();
 * ```
 */
export class ResourceSampler {
  private readonly origin = performance.now();
  private readonly emitters = new Set<ListenerCounts>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly settled: () => number,
    private readonly report: (sample: SoakSample) => void,
  ) {}

  /**
   * Counts `emitter`'s listeners too. Anything that is not an `EventEmitter` at run time (a
   * driver object typed opaquely) is ignored.
   */
  watch(emitter: unknown): void {
    if (emitter instanceof EventEmitter) this.emitters.add(emitter);
  }

  /** Reports a sample every `intervalMs`, the first one at once. */
  start(intervalMs: number): void {
    if (this.timer !== null) return;
    this.report(this.sample());
    this.timer = setInterval(() => this.report(this.sample()), intervalMs);
  }

  /** Stops sampling. Idempotent. */
  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  /** The process now. */
  sample(): SoakSample {
    const memory = process.memoryUsage();
    const resources = process.getActiveResourcesInfo();
    let listeners = listenersOf(process);
    for (const emitter of this.emitters) listeners += listenersOf(emitter);
    return {
      seconds: (performance.now() - this.origin) / 1000,
      rssMiB: memory.rss / MiB,
      heapUsedMiB: memory.heapUsed / MiB,
      settled: this.settled(),
      activeHandles: resources.length,
      timers: resources.filter((resource) => resource === 'Timeout').length,
      listeners,
    };
  }
}
