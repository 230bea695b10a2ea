import { defer, finalize, map, NEVER, timer, type Observable } from 'rxjs';
import {
  MemoryConnector,
  type Connector,
  type DispatchContext,
  type DispatchReport,
  type FetchRequest,
  type Transaction,
} from '../../../lib/index.js';
import { Gauge, now } from './virtual-time.js';

/** One dispatch call a connector saw: when (virtual ms) and the ids of its batch, joined. */
export interface DispatchCall {
  readonly at: number;
  readonly ids: string;
}

/** A memory connector that records every dispatch call; `onDispatch` can fail batches. */
export function loggingConnector(
  onDispatch?: (
    batch: readonly Transaction<string>[],
    call: number,
  ) => DispatchReport<string> | undefined,
): { memory: MemoryConnector<string>; calls: DispatchCall[] } {
  const calls: DispatchCall[] = [];
  const memory = new MemoryConnector<string>({
    record: true,
    idPrefix: 'tx-',
    onDispatch: (batch, call) => {
      calls.push({ at: now(), ids: batch.map((t) => t.id).join('') });
      return onDispatch?.(batch, call);
    },
  });
  return { memory, calls };
}

/** Dispatch takes `delay` (virtual) ms, or hangs for calls `hangOn` says; tracks batches in flight. */
export class SlowConnector implements Connector<string> {
  readonly memory = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
  readonly calls: DispatchCall[] = [];
  readonly sending = new Gauge();

  constructor(
    private readonly delay: number,
    private readonly hangOn: (call: number) => boolean = () => false,
  ) {}

  fetch(request: FetchRequest): Observable<Transaction<string>> {
    return this.memory.fetch(request);
  }

  dispatch(batch: readonly Transaction<string>[]): Observable<DispatchReport<string>> {
    return defer(() => {
      this.calls.push({ at: now(), ids: batch.map((t) => t.id).join('') });
      this.sending.enter();
      const work = this.hangOn(this.calls.length)
        ? NEVER
        : timer(this.delay).pipe(map(() => this.memory.dispatch(batch)));
      return work.pipe(finalize(() => this.sending.exit()));
    });
  }
}

/**
 * How a {@link StubbornConnector} attempt ends once its time is up: accepts the batch,
 * fails with an error of its own, or gives up with its signal's reason (nothing sent).
 */
export type StubbornEnd = 'resolve' | 'reject' | 'reason';

/**
 * Dispatch returns a Promise-like that settles `delay` (virtual) ms later whatever its
 * signal says — a publish the driver cannot take back — then accepts the batch (`resolve`)
 * or fails it (`reject`), per call. Records each call's signal and the peak of attempts in
 * flight; `honourSignal` makes it reject with `signal.reason` as soon as it aborts instead.
 */
export class StubbornConnector implements Connector<string> {
  readonly memory = new MemoryConnector<string>({ record: true, idPrefix: 'tx-' });
  readonly calls: DispatchCall[] = [];
  readonly signals: AbortSignal[] = [];
  readonly inFlight = new Gauge();

  constructor(
    private readonly delay: number,
    private readonly end: (call: number) => StubbornEnd = () => 'resolve',
    private readonly honourSignal = false,
  ) {}

  fetch(request: FetchRequest): Observable<Transaction<string>> {
    return this.memory.fetch(request);
  }

  dispatch(
    batch: readonly Transaction<string>[],
    context?: DispatchContext,
  ): PromiseLike<DispatchReport<string>> {
    const call = this.calls.length + 1;
    this.calls.push({ at: now(), ids: batch.map((t) => t.id).join('') });
    const signal = context?.signal as AbortSignal;
    this.signals.push(signal);
    this.inFlight.enter();
    const thenable = {
      then: (ok: (report: DispatchReport<string>) => void, fail: (error: unknown) => void) => {
        let done = false;
        const finish = (settle: () => void): void => {
          if (done) return;
          done = true;
          this.inFlight.exit();
          settle();
        };
        if (this.honourSignal) {
          signal.addEventListener('abort', () => finish(() => fail(signal.reason)));
        }
        timer(this.delay).subscribe(() =>
          finish(() => {
            const end = this.end(call);
            if (end === 'resolve') ok(this.memory.dispatch(batch));
            else fail(end === 'reason' ? signal.reason : new Error(`call ${call} failed`));
          }),
        );
        return thenable;
      },
    };
    return thenable as unknown as PromiseLike<DispatchReport<string>>;
  }
}
