import { FifoQueue } from '../../../core/fifo-queue.js';

/** One fetched record of a partition, held until it is settled. */
export interface HeldOffset {
  readonly offset: bigint;
  settled: boolean;
  /** Handed out and neither settled nor released. */
  inFlight: boolean;
}

/** A newly fetched record's {@link HeldOffset}, for {@link PartitionOffsets.hold}. */
export function heldOffset(offset: bigint): HeldOffset {
  return { offset, settled: false, inFlight: true };
}

/**
 * The offsets of one partition that this consumer fetched while it owned the partition, in
 * fetch order, and the offset it may commit: one past the last record of the longest settled
 * prefix. A record settled out of order waits for every earlier one, so a released or
 * in-flight earlier record holds the commit back and everything from it on is delivered again
 * after a restart or a rebalance (at-least-once, never a skipped record).
 *
 * Offsets need not be consecutive (compacted topics, transaction markers): the prefix is over
 * the records fetched, in order. A record whose offset is below {@link next} was fetched
 * already (the client rewinds to the committed offset after a rebalance): {@link hold} refuses
 * it so that it is not delivered twice while the first delivery is still held.
 *
 * @example
 * ```ts
 * const offsets = new PartitionOffsets();
 * const a = offsets.hold(heldOffset(5n))!, b = offsets.hold(heldOffset(6n))!;
 * offsets.settle(b); offsets.commitOffset; // null: 5 is not settled
 * offsets.settle(a); offsets.commitOffset; // 7n
 * ```
 */
export class PartitionOffsets {
  private readonly held = new FifoQueue<HeldOffset>();
  /** The last offset of the settled prefix (kept rather than one past it: no BigInt per record). */
  private settledPrefixLast: bigint | null = null;
  private committedOffset: bigint | null = null;
  private lastOffset: bigint | null = null;
  private unsettledCount = 0;
  private inFlightCount = 0;

  /** The offset after the last record held, `null` before the first. */
  get next(): bigint | null {
    return this.lastOffset === null ? null : this.lastOffset + 1n;
  }

  /** Records held and not settled yet. */
  get unsettled(): number {
    return this.unsettledCount;
  }

  /** Records handed out and not settled or released yet (a release is not in flight). */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /**
   * Holds a newly fetched record (`held`, unsettled and in flight, as {@link heldOffset} makes
   * it, or an object that extends it); `undefined` when its offset is below {@link next}
   * (fetched already).
   */
  hold<H extends HeldOffset>(held: H): H | undefined {
    const { offset } = held;
    if (this.lastOffset !== null && offset <= this.lastOffset) return undefined;
    this.held.push(held);
    this.lastOffset = offset;
    this.unsettledCount++;
    this.inFlightCount++;
    return held;
  }

  /** `held` was released: still unsettled, no longer in flight until it is handed out again. */
  released(held: HeldOffset): void {
    if (!held.inFlight) return;
    held.inFlight = false;
    this.inFlightCount--;
  }

  /** A released `held` is handed out again. */
  redelivered(held: HeldOffset): void {
    if (held.inFlight || held.settled) return;
    held.inFlight = true;
    this.inFlightCount++;
  }

  /** Marks `held` settled and moves the committable offset past the settled prefix. */
  settle(held: HeldOffset): void {
    if (held.settled) return;
    held.settled = true;
    this.unsettledCount--;
    if (held.inFlight) {
      held.inFlight = false;
      this.inFlightCount--;
    }
    for (let head = this.held.peek(); head?.settled === true; head = this.held.peek()) {
      this.held.shift();
      this.settledPrefixLast = head.offset;
    }
  }

  /** The offset to commit now (one past the settled prefix), `null` when there is nothing new. */
  get commitOffset(): bigint | null {
    const last = this.settledPrefixLast;
    if (last === null) return null;
    return this.committedOffset !== null && last < this.committedOffset ? null : last + 1n;
  }

  /** Records that `offset` was committed. */
  committed(offset: bigint): void {
    if (this.committedOffset === null || offset > this.committedOffset) {
      this.committedOffset = offset;
    }
  }
}
