import { objectArray } from './object-array.js';

/**
 * An array-backed first-in-first-out queue with O(1) amortised `shift` (unlike
 * `Array.prototype.shift`, which copies the whole array and collapses throughput on long
 * queues). Items live between `head` and `tail`; when the queue empties both go back to 0 and
 * an array of up to 1024 slots is reused as it is (truncating it on every emptying, as a queue
 * that is filled and emptied once per transaction would, costs more than the rest of the
 * queue's work); a larger one, left by a burst, is dropped.
 */
export class FifoQueue<T> {
  /** Emptied and compacted in place, never replaced: one array, one map, for the queue's life. */
  private readonly items: (T | undefined)[] = objectArray();
  private head = 0;
  private tail = 0;

  get length(): number {
    return this.tail - this.head;
  }

  push(item: T): void {
    this.items[this.tail++] = item;
  }

  shift(): T | undefined {
    if (this.head === this.tail) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.tail) {
      // Keep a small array for the next fill; let a burst's large one go.
      if (this.items.length > 1024) this.items.length = 0;
      this.head = this.tail = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.tail) {
      this.items.copyWithin(0, this.head, this.tail);
      this.tail -= this.head;
      this.items.length = this.tail;
      this.head = 0;
    }
    return item;
  }

  /** The oldest item, left in place. */
  peek(): T | undefined {
    return this.head === this.tail ? undefined : this.items[this.head];
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const all = this.items.slice(this.head, this.tail) as T[];
    this.items.length = 0;
    this.head = this.tail = 0;
    return all;
  }

  find(predicate: (item: T) => boolean): T | undefined {
    for (let i = this.head; i < this.tail; i++) {
      const item = this.items[i] as T;
      if (predicate(item)) return item;
    }
    return undefined;
  }
}
