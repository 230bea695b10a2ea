import cluster from 'node:cluster';

/** The environment variable carrying a worker process's id (1..N). */
export const WORKER_ID_VARIABLE = 'ERGON_WORKER_ID';
/** The environment variable carrying how many times the worker's slot was restarted. */
export const WORKER_RESTARTS_VARIABLE = 'ERGON_WORKER_RESTARTS';

/** Who the current process is in a multi-process run, from the environment the primary set. */
export interface WorkerIdentity {
  /** 1..N. */
  readonly workerId: number;
  /** 0 for the first process of this worker slot, then 1, 2, … after each restart. */
  readonly restarts: number;
}

/**
 * The identity of this process when it is a worker forked by `runTask` (a `node:cluster`
 * worker with {@link WORKER_ID_VARIABLE} set); `undefined` in a primary or a plain process.
 *
 * @example
 * ```ts
 * const identity = currentWorkerIdentity();
 * if (identity?.restarts === 0) console.log(`worker ${identity.workerId} first start`);
 * ```
 */
export function currentWorkerIdentity(): WorkerIdentity | undefined {
  const id = Number(process.env[WORKER_ID_VARIABLE]);
  if (!cluster.isWorker || !Number.isSafeInteger(id) || id < 1) return undefined;
  const restarts = Number(process.env[WORKER_RESTARTS_VARIABLE] ?? 0);
  return { workerId: id, restarts: Number.isSafeInteger(restarts) ? restarts : 0 };
}
