/** A binary min-heap of numbers, for the ideal schedule of the I/O scenario. */
export class MinHeap {
  private readonly items: number[];

  /** Starts with `size` zeros: every slot free at time 0. */
  constructor(size: number) {
    this.items = new Array<number>(size).fill(0);
  }

  /** Removes and returns the smallest number. */
  pop(): number {
    const items = this.items;
    const top = items[0] ?? 0;
    const last = items.pop() ?? 0;
    if (items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && (items[left] ?? 0) < (items[smallest] ?? 0)) smallest = left;
      if (right < items.length && (items[right] ?? 0) < (items[smallest] ?? 0)) smallest = right;
      if (smallest === i) return top;
      [items[i], items[smallest]] = [items[smallest] ?? 0, items[i] ?? 0];
      i = smallest;
    }
  }

  push(value: number): void {
    const items = this.items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] ?? 0) <= value) break;
      items[i] = items[parent] ?? 0;
      i = parent;
    }
    items[i] = value;
  }
}
