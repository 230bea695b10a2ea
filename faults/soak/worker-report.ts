import type { SoakSample } from '../support/fault-result.js';

/** What the soak worker counted by the time it stopped. */
export interface WorkerTally {
  /** Outcomes by status. */
  readonly success: number;
  readonly exception: number;
  readonly failed: number;
  readonly timeout: number;
  readonly released: number;
  /** Transactions the broker delivered more than once. */
  readonly redelivered: number;
  /** `process` attempts the worker made fail on purpose. */
  readonly injectedFailures: number;
}

/** A message from the soak worker to the spec, over the IPC channel. */
export type WorkerReport =
  | { readonly type: 'sample'; readonly sample: SoakSample }
  | { readonly type: 'tally'; readonly tally: WorkerTally };

/** Whether an IPC message is a {@link WorkerReport}. */
export function isWorkerReport(message: unknown): message is WorkerReport {
  if (typeof message !== 'object' || message === null || !('type' in message)) return false;
  return (
    (message.type === 'sample' && 'sample' in message) ||
    (message.type === 'tally' && 'tally' in message)
  );
}
