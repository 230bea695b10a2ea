import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BrokerKind } from '../support/broker-endpoint.js';
import type { BrokerTarget, RawMessage } from '../support/broker-target.js';
import { recordFaultResult } from '../support/fault-result.js';
import { MESSAGE_PREFIX, runFault, type FaultRun } from '../support/fault-run.js';
import type { InjectedFault } from '../support/ledger-verdict.js';
import type { PrivateBroker } from '../support/private-broker.js';
import { UNDECODABLE_BODIES } from './undecodable-bodies.js';

/** How a broker's fault specs get their targets. */
export interface BrokerFaultSetup {
  readonly broker: BrokerKind;
  /** A fresh destination on the shared broker; `settings` tune delivery limit and lease. */
  readonly sharedTarget: (settings?: {
    maxDeliveries: number;
    leaseMs: number;
  }) => Promise<BrokerTarget>;
  /** A private broker instance, and a fresh destination on it. */
  readonly privateBroker: () => Promise<PrivateBroker>;
  readonly privateTarget: (broker: PrivateBroker) => Promise<BrokerTarget>;
  /**
   * A destination whose redelivery clock (lease, `claimIdle`, `ackWait`, `consumer_timeout`)
   * is `clockMs`, and the `transactionRuntime.timeout` that keeps transactions inside it
   * (`undefined`: the connector's lease renewal does). Default: the shared broker with a 1 s
   * lease.
   */
  readonly redeliveryClock?: () => Promise<RedeliveryClock>;
  /**
   * The faults of the dead-letter target and of the consumer that this broker's target can
   * inject (a PostgreSQL table or a Redis stream cannot be made to refuse or vanish the same
   * way): a fault a broker has not is not part of its suite.
   */
  readonly targetFaults?: readonly ('refuseDeadLetters' | 'deleteDeadLetters' | 'deleteConsumer')[];
  /**
   * What the broker itself does not have, so the rows that need it are not part of its suite:
   * `serverSideCut` (the server cannot close a client's connections: Kafka; its outage is the
   * broker-restart row), `deliveryLimit` (no delivery count across consumers, so a message that
   * kills every worker it reaches cannot be dead-lettered by a limit: Kafka).
   */
  readonly lacks?: readonly ('serverSideCut' | 'deliveryLimit')[];
}

/** See {@link BrokerFaultSetup.redeliveryClock}. */
interface RedeliveryClock {
  readonly target: BrokerTarget;
  /** The private broker the target lives on, disposed of after the spec. */
  readonly broker?: PrivateBroker;
  readonly clockMs: number;
  readonly transactionTimeout?: number;
}

/** How long the broker-restart row keeps the broker down: past every default `connectTimeout`. */
const BROKER_DOWN_MS = 12_000;

const random = (low: number, high: number): number => low + Math.random() * (high - low);

function describeDuplicates(run: FaultRun, cause: string): string {
  return run.verdict.duplicates === 0
    ? 'none'
    : `redeliveries of what ${cause} interrupted before it was settled`;
}

/** Records the run's row of RELIABILITY.md, then asserts nothing was lost or mishandled. */
function recordAndCheck(
  fault: string,
  broker: BrokerKind,
  run: FaultRun,
  details: { runs: number; cause: string; notes: string; zeroDuplicates?: boolean },
): void {
  const { verdict } = run;
  recordFaultResult({
    fault,
    connector: broker,
    runs: details.runs,
    messages: run.published,
    lost: verdict.lost.length,
    duplicates: verdict.duplicates,
    duplicatesExplained:
      verdict.unexplainedDuplicates.length === 0
        ? describeDuplicates(run, details.cause)
        : `${verdict.unexplainedDuplicates.length} ids processed again without a fault to explain it`,
    recoveryMs: verdict.recoveryMs,
    notes:
      verdict.lostSettlements === 0
        ? details.notes
        : `${details.notes}; ${verdict.lostSettlements} acks sent just before the fault never reached the broker (settled again after redelivery)`,
  });
  const stderr = run.exit.stderr.slice(-2000);
  expect(verdict.lost, 'lost ids').to.deep.equal([]);
  expect(run.finished, `the work was not done in time; stderr:\n${stderr}`).to.equal(true);
  expect(run.leftOver, 'messages left in the broker').to.equal(0);
  expect(verdict.unexplainedDuplicates, 'unexplained duplicates').to.deep.equal([]);
  if (details.zeroDuplicates === true) expect(verdict.duplicates, 'duplicates').to.equal(0);
  expect(verdict.settledTwice, 'ids settled twice').to.deep.equal([]);
  expect(verdict.unexpectedDeadLetters, 'unexpected dead letters').to.deep.equal([]);
  expect(verdict.missingDeadLetters, 'missing dead letters').to.deep.equal([]);
  expect(run.exit.code, `exit code; stderr:\n${stderr}`).to.equal(143);
}

/**
 * The broker faults of the reliability suite, for one broker: each `it` runs the ledger task
 * as a real runner process against the real broker, injects its fault, and records a row of
 * RELIABILITY.md. Slow ones (`@slow`) are left out of the fast subset `.ci/run` runs.
 */
export function describeBrokerFaults(setup: BrokerFaultSetup): void {
  const { broker } = setup;
  const poison = (numbers: readonly number[]): string[] =>
    numbers.map((n) => `${MESSAGE_PREFIX}-${n}`);
  let target: BrokerTarget | null = null;
  let privateBroker: PrivateBroker | null = null;

  afterEach(async () => {
    await target?.dispose();
    target = null;
    await privateBroker?.dispose();
    privateBroker = null;
  });

  const shared = async (settings?: { maxDeliveries: number; leaseMs: number }) => {
    target = await setup.sharedTarget(settings);
    return target;
  };

  it('worker SIGKILL at random moments (3 kills in a pool of 2): nothing lost, duplicates only from the kills @slow', async () => {
    const kills = 3;
    const run = await runFault({
      target: await shared({ maxDeliveries: 10, leaseMs: 1000 }),
      messages: 3000,
      workers: 2,
      concurrency: 8,
      processMs: 30,
      inject: async ({ task, ledger, processed }) => {
        const faults: InjectedFault[] = [];
        await processed(100);
        for (let kill = 0; kill < kills; kill++) {
          await sleep(random(300, 1200));
          expect(await ledger.processedCount(), 'work left to interrupt').to.be.below(3000);
          const killed = new Set(faults.map((fault) => fault.pid));
          let alive = task()
            .currentWorkers()
            .filter((worker) => !killed.has(worker.pid));
          if (alive.length === 0) {
            await task().waitForStarts(task().workers().length + 1);
            alive = task()
              .currentWorkers()
              .filter((worker) => !killed.has(worker.pid));
          }
          const victim = alive[Math.floor(Math.random() * alive.length)];
          if (victim === undefined) throw new Error('no worker to kill');
          faults.push({ at: Date.now(), pid: victim.pid });
          process.kill(victim.pid, 'SIGKILL');
        }
        return faults;
      },
    });
    recordAndCheck('worker SIGKILL at random moments', broker, run, {
      runs: kills,
      cause: 'a killed worker',
      notes: `${kills} SIGKILLs, 2 workers × 8 in flight; recovery: kill → first settlement of a message the killed worker held (worst of ${kills})`,
    });
  });

  it('SIGTERM during load: the pool drains, exits 143, and a second run finishes without a duplicate @slow', async () => {
    let drainMs = 0;
    let firstExit: number | null = null;
    const run = await runFault({
      target: await shared(),
      messages: 1500,
      workers: 2,
      concurrency: 8,
      processMs: 20,
      inject: async ({ task, processed, restartTask }) => {
        await processed(300);
        const stopping = Date.now();
        const exit = await task().stop();
        drainMs = Date.now() - stopping;
        firstExit = exit.code;
        await restartTask();
        return [];
      },
    });
    expect(firstExit, 'exit code of the stopped pool').to.equal(143);
    recordAndCheck('SIGTERM during load', broker, run, {
      runs: 1,
      cause: 'the stop',
      zeroDuplicates: true,
      notes: `exit 143 after draining in ${drainMs} ms; a second run processed the rest`,
    });
  });

  const has = (feature: 'serverSideCut' | 'deliveryLimit'): boolean =>
    setup.lacks?.includes(feature) !== true;

  // A fault a broker cannot have is not part of its suite (like `targetFaults`).
  if (has('serverSideCut'))
    it('connection killed by the server (twice during load): the connector reconnects, nothing lost', async () => {
      const cuts: number[] = [];
      const run = await runFault({
        target: await shared(),
        messages: 1000,
        concurrency: 8,
        processMs: 10,
        inject: async ({ target: driven, processed }) => {
          const faults: InjectedFault[] = [];
          for (const share of [0.2, 0.6]) {
            await processed(1000 * share);
            faults.push({ at: Date.now() });
            cuts.push(await driven.cutConnections());
          }
          return faults;
        },
      });
      expect(
        cuts.every((count) => count > 0),
        `connections cut: ${cuts.join(', ')}`,
      ).to.equal(true);
      recordAndCheck('connection killed by the server', broker, run, {
        runs: cuts.length,
        cause: 'the lost connection',
        notes: `${cuts.join(' and ')} connections cut; recovery: cut → first settlement of a message in flight at the cut (worst of ${cuts.length})`,
      });
    });

  it('broker restarted (a private instance, during load, down longer than connectTimeout): nothing lost @slow', async () => {
    privateBroker = await setup.privateBroker();
    const restarted = privateBroker;
    target = await setup.privateTarget(restarted);
    let outageMs = 0;
    const run = await runFault({
      target,
      messages: 1500,
      concurrency: 8,
      processMs: 10,
      within: 90_000,
      inject: async ({ processed }) => {
        await processed(400);
        const at = Date.now();
        // Down longer than any connector's default `connectTimeout` (10 s): a consumer that
        // was connected keeps reconnecting instead of giving up like a first connection does.
        await restarted.restart(BROKER_DOWN_MS);
        const until = Date.now();
        outageMs = until - at;
        return [{ at, until }];
      },
    });
    recordAndCheck('broker restarted', broker, run, {
      runs: 1,
      cause: 'the restart',
      notes: `broker down and back in ${outageMs} ms; recovery: restart began → first settlement of a message in flight then`,
    });
  });

  if (has('deliveryLimit'))
    it('poison messages: ones that always fail and one that kills its worker are dead-lettered, only they @slow', async () => {
      const failIds = [3, 57, 111].map((n) => `${MESSAGE_PREFIX}-${n}`);
      const crashIds = [`${MESSAGE_PREFIX}-80`];
      const maxDeliveries = 3;
      const run = await runFault({
        target: await shared({ maxDeliveries, leaseMs: 1000 }),
        messages: 300,
        failIds,
        crashIds,
        workers: 2,
        concurrency: 1,
        processMs: 5,
        inject: () => Promise.resolve([]),
      });
      const crashes = run.faults.length;
      recordAndCheck('poison messages', broker, run, {
        runs: failIds.length + crashIds.length,
        cause: 'a crash of the poison handler',
        notes: `${failIds.length} throwing (dead-lettered by the connector) + ${crashIds.length} worker-killing (dead-lettered by the delivery limit after ${crashes} crashes, maxDeliveries ${maxDeliveries})`,
      });
      expect(crashes, 'crashes of the worker-killing message').to.be.at.most(maxDeliveries);
    });

  it('long handlers past the redelivery clock (2 workers): none processed twice while the first runs', async () => {
    const clock: RedeliveryClock = await (setup.redeliveryClock?.() ??
      shared({ maxDeliveries: 5, leaseMs: 1000 }).then((leased) => ({
        target: leased,
        clockMs: 1000,
      })));
    target = clock.target;
    privateBroker = clock.broker ?? null;
    const slowIds = poison([5, 40, 77, 120]);
    const slowMs = clock.clockMs * 3;
    const { transactionTimeout } = clock;
    const run = await runFault({
      target: clock.target,
      messages: 200,
      workers: 2,
      concurrency: 4,
      processMs: 10,
      slowIds,
      slowMs,
      ...(transactionTimeout === undefined ? {} : { transactionTimeout }),
      within: 90_000,
      inject: () => Promise.resolve([]),
    });
    recordAndCheck('long handlers past the redelivery clock (2 workers)', broker, run, {
      runs: slowIds.length,
      cause: 'nothing',
      zeroDuplicates: true,
      notes:
        transactionTimeout === undefined
          ? `${slowIds.length} handlers of ${slowMs} ms, 3× the ${clock.clockMs} ms redelivery clock: the connector renews their leases, the other worker never gets them`
          : `${slowIds.length} handlers of ${slowMs} ms against a ${clock.clockMs} ms consumer_timeout: transactionRuntime.timeout (${transactionTimeout} ms) cancels them first, and they are dead-lettered as timed out; no channel closed, nothing redelivered`,
    });
  });

  const injects = (fault: 'refuseDeadLetters' | 'deleteDeadLetters' | 'deleteConsumer'): boolean =>
    setup.targetFaults?.includes(fault) === true;

  if (injects('refuseDeadLetters'))
    it('dead-letter target full for 4 s: nothing lost, the poison ones reach it once it has room', async function () {
      const refusing = await shared({ maxDeliveries: 3, leaseMs: 1000 });
      // Late in a 10 s run: the policy takes a few seconds to apply, and applying it also
      // empties the dead-letter queue of what is in it (the target reads it out as it goes).
      const failIds = poison([200, 260, 320, 380]);
      const run = await runFault({
        target: refusing,
        messages: 400,
        failIds,
        concurrency: 4,
        processMs: 100,
        inject: async () => {
          const at = Date.now();
          const room = await (refusing.refuseDeadLetters as () => Promise<() => Promise<void>>)();
          await sleep(4000);
          await room();
          return [{ at, until: Date.now() }];
        },
      });
      recordAndCheck('dead-letter target full', broker, run, {
        runs: 1,
        cause: 'the full dead-letter queue (the poison ones were requeued and ran again)',
        notes: `${failIds.length} always-failing messages while the dead-letter queue refused everything for 4 s or more (max-length 0, reject-publish): kept in the queue, dead-lettered once it had room`,
      });
    });

  if (injects('deleteDeadLetters'))
    it('dead-letter target deleted under load: nothing lost', async function () {
      const deleting = await shared({ maxDeliveries: 3, leaseMs: 1000 });
      const failIds = poison([150, 170, 190, 199]);
      const run = await runFault({
        target: deleting,
        messages: 200,
        failIds,
        concurrency: 4,
        processMs: 10,
        inject: async ({ processed }) => {
          await processed(60);
          const at = Date.now();
          await (deleting.deleteDeadLetters as () => Promise<void>)();
          // The poison ones run again until the target is back: the fault lasts until then.
          const deadline = Date.now() + 60_000;
          while (Date.now() < deadline) {
            // Until it is declared again, the target cannot even be read.
            const dead = new Set(await deleting.deadLettered().catch(() => []));
            if (failIds.every((id) => dead.has(id))) break;
            await sleep(200);
          }
          return [{ at, until: Date.now() }];
        },
      });
      recordAndCheck('dead-letter target deleted', broker, run, {
        runs: 1,
        cause: 'the deleted dead-letter target (the poison ones were requeued and ran again)',
        notes: `the dead-letter destination deleted after 60 of 200 messages; ${failIds.length} always-failing messages after that were dead-lettered once it was declared again`,
      });
    });

  if (injects('deleteConsumer'))
    it('durable consumer deleted under load: the connector declares it again, nothing lost', async function () {
      const deleting = await shared({ maxDeliveries: 5, leaseMs: 1000 });
      let recoveredMs = 0;
      const run = await runFault({
        target: deleting,
        messages: 1000,
        concurrency: 8,
        processMs: 10,
        inject: async ({ ledger, processed }) => {
          await processed(200);
          const at = Date.now();
          const before = await ledger.processedCount();
          await (deleting.deleteConsumer as () => Promise<void>)();
          while ((await ledger.processedCount()) <= before + 8 && Date.now() - at < 30_000) {
            await sleep(50);
          }
          recoveredMs = Date.now() - at;
          // Acks sent to the deleted consumer are lost: what it had delivered comes back up to
          // ackWait after the new consumer took over.
          return [{ at, until: Date.now() + 2000 }];
        },
      });
      recordAndCheck('durable consumer deleted', broker, run, {
        runs: 1,
        cause: 'the deleted consumer (acks sent to it were lost)',
        notes: `consumer deleted after 200 of 1000 messages; new messages processed again ${recoveredMs} ms later (an unanswered pull, a consumer lookup, the declaration)`,
      });
      expect(recoveredMs, 'recovery after the consumer was deleted').to.be.below(10_000);
    });

  it('undecodable bodies: each one is dead-lettered, the good messages all processed', async () => {
    const raw: RawMessage[] = UNDECODABLE_BODIES.map((body, index) => ({
      id: `bad-${index}`,
      body,
    }));
    const run = await runFault({
      target: await shared(),
      messages: 200,
      raw,
      inject: () => Promise.resolve([]),
    });
    recordAndCheck('undecodable bodies', broker, run, {
      runs: raw.length,
      cause: 'nothing',
      zeroDuplicates: true,
      notes: `${raw.length} bad bodies (truncated JSON, invalid UTF-8, empty, plain text, binary): dead-lettered without processing`,
    });
    expect([...run.snapshot.processed.keys()].filter((id) => id.startsWith('bad-'))).to.deep.equal(
      [],
    );
  });
}
