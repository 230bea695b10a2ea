import { setTimeout as sleep } from 'node:timers/promises';
import { uniqueName } from '../../spec/support/real-service.js';
import type { BrokerTarget, RawMessage } from './broker-target.js';
import { LedgerTaskProcess, type LedgerTaskExit } from './ledger-task-process.js';
import { judgeLedger, type InjectedFault, type LedgerVerdict } from './ledger-verdict.js';
import { ProcessingLedger, type LedgerSnapshot } from './processing-ledger.js';
import { numberedIds, publishNumbered } from './publish-numbered.js';

/** What a fault's `inject` step gets: the running task and the ledger it writes. */
interface FaultRunContext {
  readonly target: BrokerTarget;
  readonly ledger: ProcessingLedger;
  /** The task process running now. */
  readonly task: () => LedgerTaskProcess;
  /** Starts the task again (after `inject` stopped it), with the same settings. */
  readonly restartTask: () => Promise<LedgerTaskProcess>;
  /** Resolves once at least `count` distinct ids were processed. */
  readonly processed: (count: number) => Promise<void>;
}

/** A scenario: what to publish, how the task runs, and the fault to inject while it does. */
export interface FaultRunOptions {
  readonly target: BrokerTarget;
  /** Uniquely numbered messages published through the connector before the task starts. */
  readonly messages: number;
  /** Numbered ids whose handler always throws (see `LedgerTaskSettings.failIds`). */
  readonly failIds?: readonly string[];
  /** Numbered ids whose handler kills its worker (see `LedgerTaskSettings.crashIds`). */
  readonly crashIds?: readonly string[];
  /** Raw messages published after the numbered ones: all meant to be dead letters. */
  readonly raw?: readonly RawMessage[];
  /** Numbered ids whose handler works `slowMs` (see `LedgerTaskSettings.slowIds`). */
  readonly slowIds?: readonly string[];
  readonly slowMs?: number;
  /** The task's `transactionRuntime.timeout`; with one, the `slowIds` are meant to be dead letters. */
  readonly transactionTimeout?: number | null;
  readonly workers?: number;
  readonly concurrency?: number;
  readonly processMs?: number;
  /** Injects the fault and returns when it hit (a crash of a `crashIds` handler is added by the run). */
  readonly inject: (context: FaultRunContext) => Promise<readonly InjectedFault[]>;
  /** Longest wait for the run to finish its work after `inject`, in ms. */
  readonly within?: number;
}

/** What a scenario ended with. */
export interface FaultRun {
  readonly verdict: LedgerVerdict;
  readonly snapshot: LedgerSnapshot;
  /** Every fault, crashes of `crashIds` handlers included. */
  readonly faults: readonly InjectedFault[];
  /** How the last task process ended (SIGTERM once the work was done: 143). */
  readonly exit: LedgerTaskExit;
  /** Whether the work was done (everything processed or dead-lettered) before the stop. */
  readonly finished: boolean;
  /** Messages the broker still held after the stop (must be 0). */
  readonly leftOver: number;
  /** Ids published in all. */
  readonly published: number;
}

/** When `pid` last processed or settled anything: a lower bound of when it died. */
function lastActOf(snapshot: LedgerSnapshot, pid: number): number {
  let last = 0;
  for (const entry of snapshot.processed.values()) {
    entry.pids.forEach((each, index) => {
      if (each === pid) last = Math.max(last, entry.at[index] ?? 0);
    });
  }
  for (const settlement of snapshot.settlements) {
    if (settlement.pid === pid) last = Math.max(last, settlement.at);
  }
  return last;
}

/** The prefix of the numbered ids. */
export const MESSAGE_PREFIX = 'm';

/** Polls `check` every 100 ms (a failing check counts as false); whether it held within `within` ms. */
async function eventually(within: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + within;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}

/**
 * Runs a scenario against a real broker and a real runner process: creates a ledger, publishes
 * the messages, starts `ledger-task.ts`, injects the fault, waits until every message was
 * processed or dead-lettered and the broker holds none, stops the task with SIGTERM, and judges
 * the ledger. Everything it created is removed, whatever happens; the target is left to its
 * owner.
 */
export async function runFault(options: FaultRunOptions): Promise<FaultRun> {
  const { target, messages, failIds = [], crashIds = [], raw = [] } = options;
  const ids = numberedIds(MESSAGE_PREFIX, messages);
  const { slowIds = [], slowMs, transactionTimeout } = options;
  const timedOut = typeof transactionTimeout === 'number' ? slowIds : [];
  const deadLetters = [...failIds, ...crashIds, ...timedOut, ...raw.map((message) => message.id)];
  const ledger = new ProcessingLedger(uniqueName('fault_ledger'));
  const settings = {
    endpoint: target.endpoint,
    ledger: ledger.name,
    workers: options.workers ?? 1,
    concurrency: options.concurrency ?? 8,
    processMs: options.processMs ?? 10,
    failIds,
    crashIds,
    slowIds,
    ...(slowMs === undefined ? {} : { slowMs }),
    ...(transactionTimeout === undefined ? {} : { transactionTimeout }),
  };
  let task: LedgerTaskProcess | null = null;
  const start = async (): Promise<LedgerTaskProcess> => {
    task = LedgerTaskProcess.start(settings);
    await task.waitForStarts(settings.workers);
    return task;
  };
  const running = (): LedgerTaskProcess => {
    if (task === null) throw new Error('the task is not running');
    return task;
  };
  // A pool stopped while one of its workers is still loading loses that worker's stop request
  // (it is killed after the grace and the pool exits 1): the stop waits until every worker that
  // a fault or a crash killed was replaced and runs.
  const replacedEveryKilledWorker = async (killed: number): Promise<boolean> => {
    if (settings.workers === 1) return true;
    const { processed } = await ledger.snapshot();
    const crashes = crashIds.reduce((sum, id) => sum + (processed.get(id)?.pids.length ?? 0), 0);
    return running().workers().length >= settings.workers + killed + crashes;
  };
  try {
    await ledger.create();
    await publishNumbered(target.endpoint, ids);
    if (raw.length > 0) await target.publishRaw(raw);
    await start();
    const injected = await options.inject({
      target,
      ledger,
      task: running,
      restartTask: start,
      processed: async (count) => {
        const reached = await eventually(
          60_000,
          async () => (await ledger.processedCount()) >= count,
        );
        if (!reached) throw new Error(`fewer than ${count} ids were processed within 60 s`);
      },
    });
    const finished = await eventually(options.within ?? 60_000, async () => {
      const [processed, outstanding, dead] = await Promise.all([
        ledger.processedCount(),
        target.outstanding(),
        target.deadLettered(),
      ]);
      return (
        processed >= messages &&
        outstanding === 0 &&
        dead.length >= deadLetters.length &&
        (await replacedEveryKilledWorker(
          injected.filter((fault) => fault.pid !== undefined).length,
        ))
      );
    });
    const exit = await running().stop();
    task = null;
    await sleep(300);
    const leftOver = await target.outstanding();
    const snapshot = await ledger.snapshot();
    const crashes = crashIds.flatMap((id) =>
      (snapshot.processed.get(id)?.pids ?? []).map((pid) => ({
        pid,
        at: lastActOf(snapshot, pid),
      })),
    );
    const faults = [...injected, ...crashes];
    const verdict = judgeLedger(snapshot, await target.deadLettered(), {
      published: [...ids, ...raw.map((message) => message.id)],
      deadLetters,
      faults,
    });
    return {
      verdict,
      snapshot,
      faults,
      exit,
      leftOver,
      finished,
      published: ids.length + raw.length,
    };
  } finally {
    (task as LedgerTaskProcess | null)?.kill();
    await ledger.drop().catch(() => undefined);
    await ledger.close();
  }
}
