/** One queued entry of an {@link EntryBatcher} and how to settle its promise. */
interface QueuedEntry<E> {
  readonly entry: E;
  resolve(): void;
  reject(error: unknown): void;
}

/** What a batch request reports: the ids (positions as strings) of the entries that failed, and why. */
export type BatchFailures = ReadonlyMap<string, unknown>;

/** SQS's limit of entries per batch request. */
export const maxBatchEntries = 10;

/**
 * Coalesces per-message requests into SQS batch requests (`DeleteMessageBatch`,
 * `ChangeMessageVisibilityBatch`): the entries queued during one turn of the event loop go
 * out from `setImmediate` in requests of at most 10, sent together. Each entry's promise
 * settles with its own result: an entry SQS refused rejects alone, a request that failed
 * rejects its ten.
 *
 * ```
 * add(a) add(b) … add(k) | setImmediate → Batch[a…j] Batch[k] → each promise by its entry's result
 * ```
 *
 * @example
 * ```ts
 * const deletes = new EntryBatcher((entries) => deleteBatch(entries));
 * await Promise.all([deletes.add(a), deletes.add(b)]); // one DeleteMessageBatch
 * ```
 */
export class EntryBatcher<E> {
  private queued: QueuedEntry<E>[] = [];
  private scheduled: ReturnType<typeof setImmediate> | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  /**
   * @param send sends up to 10 entries (ids `"0"`…`"9"`, their positions) and resolves with
   * the failed ones; rejects when the whole request failed.
   */
  constructor(private readonly send: (entries: readonly E[]) => Promise<BatchFailures>) {}

  /** Queues `entry`; the promise settles with its result. */
  add(entry: E): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ entry, resolve, reject });
      this.scheduled ??= setImmediate(() => void this.flush());
    });
  }

  /**
   * Sends what is queued at the end of the current microtask burst instead of the end of the
   * event-loop turn: for when nothing else can join the batch (the last message held settled).
   */
  flushSoon(): void {
    if (this.queued.length === 0) return;
    queueMicrotask(() => {
      if (this.queued.length > 0) void this.flush();
    });
  }

  /** Sends what is queued now; resolves once every request sent so far was answered. */
  async flush(): Promise<void> {
    if (this.scheduled !== null) clearImmediate(this.scheduled);
    this.scheduled = null;
    const queued = this.queued;
    this.queued = [];
    for (let i = 0; i < queued.length; i += maxBatchEntries) {
      const chunk = queued.slice(i, i + maxBatchEntries);
      const request = this.sendChunk(chunk);
      this.inFlight.add(request);
      void request.finally(() => this.inFlight.delete(request));
    }
    await Promise.all(this.inFlight);
  }

  private async sendChunk(chunk: readonly QueuedEntry<E>[]): Promise<void> {
    let failures: BatchFailures;
    try {
      failures = await this.send(chunk.map(({ entry }) => entry));
    } catch (error) {
      for (const queued of chunk) queued.reject(error);
      return;
    }
    chunk.forEach((queued, i) => {
      const id = String(i);
      if (failures.has(id)) queued.reject(failures.get(id));
      else queued.resolve();
    });
  }
}
