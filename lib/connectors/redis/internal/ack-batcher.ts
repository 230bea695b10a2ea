interface BatchSettlers {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Coalesces acks: the entry ids acked during one turn of the event loop go to Redis as one
 * `XACK stream group id…` (plus one `XDEL` with `deleteOnAck`), sent from `setImmediate`.
 * Every `ack` of a batch returns the same promise, which resolves once the batch was acked and
 * rejects with `failure(error, ids)` when it was not.
 *
 * ```
 * ack(a) ack(b) ack(c) | setImmediate → XACK s g a b c → the batch's promise resolves
 * ```
 *
 * @example
 * ```ts
 * const acks = new AckBatcher((ids) => redis.xack('orders', 'ergon', ...ids));
 * await Promise.all([acks.ack('1-0'), acks.ack('2-0')]); // one XACK
 * ```
 */
export class AckBatcher {
  private ids: string[] = [];
  private batch: Promise<void> | null = null;
  private settlers: BatchSettlers | null = null;
  private scheduled: ReturnType<typeof setImmediate> | null = null;
  private flushQueued = false;

  constructor(
    private readonly send: (ids: readonly string[]) => Promise<unknown>,
    private readonly failure: (error: unknown, ids: readonly string[]) => unknown = (error) =>
      error,
  ) {}

  /** Entry ids waiting for the next flush. */
  get queued(): readonly string[] {
    return this.ids;
  }

  /** Queues `entryId`; the promise settles with its batch. */
  ack(entryId: string): Promise<void> {
    this.ids.push(entryId);
    this.batch ??= new Promise<void>((resolve, reject) => {
      this.settlers = { resolve, reject };
      this.scheduled = setImmediate(() => void this.flush());
    });
    return this.batch;
  }

  /**
   * Sends what is queued at the end of the current microtask burst instead of the end of the
   * event-loop turn: for when nothing else can join the batch. Acks queued before then join.
   */
  flushSoon(): void {
    if (this.batch === null || this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      void this.flush();
    });
  }

  /** Sends what is queued now, without waiting for the end of the event-loop turn. */
  flush(): Promise<void> {
    const { batch, settlers, ids } = this;
    if (batch === null || settlers === null) return Promise.resolve();
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.ids = [];
    this.batch = this.settlers = this.scheduled = null;
    this.send(ids).then(
      () => settlers.resolve(),
      (error: unknown) => settlers.reject(this.failure(error, ids)),
    );
    return batch;
  }
}
