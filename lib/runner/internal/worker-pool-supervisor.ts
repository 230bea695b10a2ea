import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';
import { outcomeStatuses, type OutcomeStatus } from '../../core/outcome.js';
import { describeError } from '../../core/renderers.js';
import type { DashboardProblem, DashboardWorker } from '../../dashboard/dashboard-api.js';
import type { Logger } from '../../core/logging.js';
import { backoffDelay } from '../../policy/backoff.js';
import {
  ExitCode,
  WorkerRestartLimitError,
  WorkerUnhealthyError,
  type ExitCodeValue,
  type WorkerUnhealthyReason,
} from '../runner-errors.js';
import type { SupervisionSettings } from '../supervision-config-codec.js';
import { WORKER_ID_VARIABLE, WORKER_RESTARTS_VARIABLE } from '../worker-environment.js';
import { problemsDetail, startHealthServer, stopHealthServer } from './health-server.js';
import type { ShutdownSignal } from './shutdown-signals.js';
import {
  isWorkerHeartbeat,
  type WorkerHeartbeat,
  type WorkerStopRequest,
} from './worker-messages.js';

/** Extra time the workers get after `shutdownGrace` before the primary kills them. */
const KILL_MARGIN = 5_000;

/** One worker id (1..N) and the process currently running it. */
interface WorkerSlot {
  readonly workerId: number;
  worker: Worker | undefined;
  restarts: number;
  startedAt: number;
  lastHeartbeatAt: number | undefined;
  heartbeat: WorkerHeartbeat | undefined;
  /** Since when (epoch ms) each of its connectors has been unhealthy, by name. */
  unhealthySince: Map<string, number>;
  killedFor: WorkerUnhealthyReason | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  /** Finished for good: completed, stopped, or out of restarts. */
  done: boolean;
  /** Ended as it should (exit 0, or 130/143 after a stop). */
  clean: boolean;
}

/**
 * The primary process of a multi-process run (`workers > 1`): forks one `node:cluster` worker
 * per worker id (each re-runs the entry script and there runs the task single-process),
 * forwards SIGTERM/SIGINT to them over IPC, watches their heartbeats, kills (SIGKILL) and
 * replaces a wedged or stalled worker, restarts one that died unexpectedly with capped
 * backoff up to `restart.maxRestarts` times, and resolves the pool's exit code once every
 * worker is done: 0, 130/143 after a signal when all stopped cleanly, 1 otherwise.
 *
 * @example
 * ```ts
 * const code = await new WorkerPoolSupervisor(4, settings, 30_000, log).run();
 * ```
 */
export class WorkerPoolSupervisor {
  private readonly slots: WorkerSlot[];
  private received: ShutdownSignal | undefined;
  /** The last stop request sent to the workers, resent to any worker that has not seen it. */
  private stopRequest: WorkerStopRequest | undefined;
  private failedForGood = false;
  /** Outcomes of worker processes that ended (their last heartbeat). */
  private readonly lostEnded: Record<OutcomeStatus, number> = {
    success: 0,
    exception: 0,
    failed: 0,
    timeout: 0,
    released: 0,
  };
  private watchTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  private resolve: ((code: ExitCodeValue) => void) | undefined;

  constructor(
    workers: number,
    private readonly settings: SupervisionSettings,
    private readonly shutdownGrace: number,
    private readonly log: Logger,
  ) {
    this.slots = Array.from({ length: workers }, (_, i) => ({
      workerId: i + 1,
      worker: undefined,
      restarts: 0,
      startedAt: 0,
      lastHeartbeatAt: undefined,
      heartbeat: undefined,
      unhealthySince: new Map(),
      killedFor: undefined,
      restartTimer: undefined,
      done: false,
      clean: false,
    }));
  }

  /**
   * Starts the workers (and the health server if configured) and resolves the exit code once
   * they are all done. With `signals` (default), SIGTERM/SIGINT of this process stop the pool.
   */
  async run(signals = true): Promise<ExitCodeValue> {
    const http = this.settings.http;
    if (http !== undefined) {
      try {
        this.server = await startHealthServer(
          http.port,
          {
            alive: () => this.alive(),
            ready: () => this.ready(),
            detail: () => problemsDetail(this.problems()),
          },
          http.host,
        );
      } catch (error) {
        this.log.error(
          `health endpoints could not listen on ${http.host}:${http.port} (${describeError(error)}); ` +
            'choose another supervision.http.port (0: any free port) or stop what holds it. No worker was started',
        );
        return ExitCode.runError;
      }
      const address = this.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : http.port;
      this.log.info(`health endpoints on http://${http.host}:${port} (/healthz, /readyz)`);
    }
    const onTerm = (): void => this.stop('SIGTERM');
    const onInt = (): void => this.stop('SIGINT');
    if (signals) {
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    }
    try {
      const done = new Promise<ExitCodeValue>((resolve) => (this.resolve = resolve));
      for (const slot of this.slots) this.fork(slot);
      this.watchTimer = setInterval(() => this.watch(), this.settings.heartbeat);
      const code = await done;
      this.log.info(`all workers done; exit code ${code}`);
      return code;
    } finally {
      clearInterval(this.watchTimer);
      clearTimeout(this.killTimer);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      if (this.server !== undefined) await stopHealthServer(this.server);
    }
  }

  /**
   * Stops the pool because of a signal: the first call asks every worker to drain, a later
   * one forces them; no worker is restarted any more. After `shutdownGrace` + 5 s the
   * remaining ones are killed.
   */
  stop(signal: ShutdownSignal): void {
    const force = this.received !== undefined;
    this.received ??= signal;
    this.log.warn(
      force
        ? `${signal} received again; forcing the workers (in-flight work is released)`
        : `${signal} received; stopping the workers (each drains for up to ${this.shutdownGrace / 1000} s; signal again to force)`,
    );
    this.stopWorkers(signal, force);
  }

  /** The workers as the primary sees them now, for the dashboard. */
  workers(): readonly DashboardWorker[] {
    return this.slots.map((slot) => ({
      workerId: slot.workerId,
      pid: slot.worker?.process.pid ?? null,
      state: slot.done
        ? 'done'
        : slot.worker === undefined
          ? 'restarting'
          : (slot.heartbeat?.state ?? 'starting'),
      inFlight: slot.worker === undefined ? 0 : (slot.heartbeat?.inFlight ?? 0),
      restarts: slot.restarts,
      sinceProgressMs: slot.heartbeat?.sinceProgressMs ?? null,
      connectors: slot.worker === undefined ? [] : (slot.heartbeat?.connectors ?? []),
    }));
  }

  /**
   * What keeps the pool from being ready besides its workers' states: each connector of a
   * running worker whose `health()` said unhealthy in the worker's last heartbeat.
   */
  problems(): DashboardProblem[] {
    const problems: DashboardProblem[] = [];
    for (const slot of this.slots) {
      if (slot.worker === undefined) continue;
      for (const connector of slot.heartbeat?.connectors ?? []) {
        if (connector.healthy) continue;
        const detail = connector.detail === undefined ? '' : `: ${connector.detail}`;
        problems.push({
          kind: 'connector',
          subject: `worker ${slot.workerId}: ${connector.name}`,
          detail: `worker ${slot.workerId}: connector "${connector.name}" unhealthy (${connector.state}${detail})`,
          since: slot.unhealthySince.get(connector.name) ?? Date.now(),
        });
      }
    }
    return problems;
  }

  /**
   * Outcomes of every worker by status, restarted workers' earlier runs included (each
   * worker process reports its own totals; the primary keeps those of the processes it lost).
   */
  ended(): Record<OutcomeStatus, number> {
    const sum: Record<OutcomeStatus, number> = { ...this.lostEnded };
    for (const slot of this.slots) {
      const ended = slot.worker === undefined ? undefined : slot.heartbeat?.ended;
      if (ended === undefined) continue;
      for (const status of outcomeStatuses) sum[status] += ended[status];
    }
    return sum;
  }

  /** `/healthz` of the pool. */
  alive(): boolean {
    return this.poolAlive();
  }

  /** `/readyz` of the pool: every worker alive and started, and none with an unhealthy connector. */
  ready(): boolean {
    return this.poolReady() && this.problems().length === 0;
  }

  /** Asks every worker to stop (or to stop now); none is restarted any more. */
  private stopWorkers(signal: ShutdownSignal, force: boolean): void {
    const first = this.stopRequest === undefined;
    this.stopRequest = { type: 'ergon:stop', signal, force };
    for (const slot of this.slots) {
      clearTimeout(slot.restartTimer);
      if (slot.restartTimer !== undefined) {
        slot.restartTimer = undefined;
        slot.done = true;
        slot.clean = true;
      }
      this.send(slot, this.stopRequest);
    }
    if (first) {
      this.killTimer = setTimeout(() => {
        for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
      }, this.shutdownGrace + KILL_MARGIN);
      this.killTimer.unref();
    }
    this.settleIfDone();
  }

  private fork(slot: WorkerSlot): void {
    slot.restartTimer = undefined;
    slot.heartbeat = undefined;
    slot.unhealthySince.clear();
    slot.lastHeartbeatAt = undefined;
    slot.killedFor = undefined;
    slot.startedAt = Date.now();
    const worker = cluster.fork({
      [WORKER_ID_VARIABLE]: String(slot.workerId),
      [WORKER_RESTARTS_VARIABLE]: String(slot.restarts),
    });
    slot.worker = worker;
    this.log.info(`worker ${slot.workerId} forked (pid ${worker.process.pid ?? '?'})`);
    worker.on('message', (message: unknown) => {
      if (!isWorkerHeartbeat(message) || slot.worker !== worker) return;
      slot.heartbeat = message;
      slot.lastHeartbeatAt = Date.now();
      noteUnhealthy(slot.unhealthySince, message, slot.lastHeartbeatAt);
      // A worker still loading its modules when the stop went out had no listener for it.
      if (this.stopRequest !== undefined && message.state !== 'stopping') {
        this.send(slot, this.stopRequest);
      }
    });
    worker.on('exit', (code, signal) => this.exited(slot, worker, code, signal));
  }

  private exited(
    slot: WorkerSlot,
    worker: Worker,
    code: number | null,
    signal: string | null,
  ): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    const ended = slot.heartbeat?.ended;
    if (ended !== undefined)
      for (const status of outcomeStatuses) this.lostEnded[status] += ended[status];
    const how = signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`;
    const killedFor = slot.killedFor;
    if (killedFor === undefined && code === 0) {
      this.log.info(`worker ${slot.workerId} completed`);
      slot.done = true;
      slot.clean = true;
    } else if (this.stopRequest !== undefined) {
      this.log.info(`worker ${slot.workerId} stopped (${how})`);
      slot.done = true;
      slot.clean = killedFor === undefined && (code === 130 || code === 143);
    } else if (slot.restarts >= this.settings.restart.maxRestarts) {
      this.log.error(new WorkerRestartLimitError(slot.workerId, slot.restarts, how).message);
      slot.done = true;
      this.failedForGood = true;
      if (this.stopRequest === undefined) {
        this.log.warn('stopping the other workers: the pool cannot go on without this one');
        this.stopWorkers('SIGTERM', false);
      }
    } else {
      const { backoff, backoffCap } = this.settings.restart;
      // `backoff` doubled per earlier restart, capped at `backoffCap`.
      const delay = backoffDelay(
        { backoff, backoffMultiplier: 2, backoffCap, jitter: 'none' },
        slot.restarts,
      );
      slot.restarts++;
      this.log.warn(
        `worker ${slot.workerId} died (${killedFor ?? how}); restart ${slot.restarts} in ${delay} ms`,
      );
      slot.restartTimer = setTimeout(() => this.fork(slot), delay);
    }
    this.settleIfDone();
  }

  /** Kills the workers whose heartbeats stopped or whose in-flight work stalled. */
  private watch(): void {
    const now = Date.now();
    const { wedgedAfter, stalledAfter, startupGrace } = this.settings;
    for (const slot of this.slots) {
      const worker = slot.worker;
      if (worker === undefined || slot.killedFor !== undefined) continue;
      const silentFor = now - (slot.lastHeartbeatAt ?? slot.startedAt);
      const limit =
        slot.lastHeartbeatAt === undefined ? Math.max(startupGrace, wedgedAfter) : wedgedAfter;
      const heartbeat = slot.heartbeat;
      if (silentFor > limit) {
        this.kill(slot, worker, 'wedged', `no heartbeat for ${silentFor} ms`);
      } else if (
        heartbeat !== undefined &&
        heartbeat.inFlight > 0 &&
        heartbeat.sinceProgressMs + silentFor > stalledAfter
      ) {
        const stalledFor = heartbeat.sinceProgressMs + silentFor;
        this.kill(
          slot,
          worker,
          'stalled',
          `${heartbeat.inFlight} in flight, no progress for ${stalledFor} ms`,
        );
      }
    }
  }

  private kill(
    slot: WorkerSlot,
    worker: Worker,
    reason: WorkerUnhealthyReason,
    detail: string,
  ): void {
    this.log.error(new WorkerUnhealthyError(slot.workerId, reason, detail).message);
    slot.killedFor = reason;
    worker.process.kill('SIGKILL');
  }

  private send(slot: WorkerSlot, message: WorkerStopRequest): void {
    const worker = slot.worker;
    if (worker === undefined || !worker.isConnected()) return;
    try {
      worker.send(message);
    } catch (error) {
      this.log.warn(`could not signal worker ${slot.workerId}: ${String(error)}`);
    }
  }

  private poolAlive(): boolean {
    const fresh = Math.min(this.settings.wedgedAfter, 3 * this.settings.heartbeat);
    const now = Date.now();
    return this.slots.every(
      (slot) =>
        slot.done ||
        (slot.worker !== undefined &&
          slot.killedFor === undefined &&
          slot.lastHeartbeatAt !== undefined &&
          now - slot.lastHeartbeatAt <= fresh),
    );
  }

  private poolReady(): boolean {
    return (
      this.stopRequest === undefined &&
      this.poolAlive() &&
      this.slots.every(
        (slot) =>
          slot.done || (slot.heartbeat !== undefined && slot.heartbeat.state !== 'starting'),
      )
    );
  }

  private settleIfDone(): void {
    if (!this.slots.every((slot) => slot.done)) return;
    const allClean = this.slots.every((slot) => slot.clean);
    let code: ExitCodeValue = ExitCode.success;
    if (this.failedForGood || !allClean) code = ExitCode.runError;
    else if (this.received === 'SIGINT') code = ExitCode.interrupted;
    else if (this.received === 'SIGTERM') code = ExitCode.terminated;
    this.resolve?.(code);
  }
}

/** Keeps `since` up to date with a heartbeat: when each connector was first seen unhealthy. */
function noteUnhealthy(since: Map<string, number>, heartbeat: WorkerHeartbeat, now: number): void {
  const unhealthy = new Set(
    (heartbeat.connectors ?? []).filter((c) => !c.healthy).map((c) => c.name),
  );
  for (const name of since.keys()) if (!unhealthy.has(name)) since.delete(name);
  for (const name of unhealthy) if (!since.has(name)) since.set(name, now);
}
