import { defer, finalize, map, NEVER, timer, type Observable } from 'rxjs';
import {
  MemoryConnector,
  type Connector,
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
