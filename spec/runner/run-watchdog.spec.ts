import { expect } from 'chai';
import {
  EMPTY,
  NEVER,
  Observable,
  of,
  Subject,
  VirtualAction,
  VirtualTimeScheduler,
  type Subscription,
} from 'rxjs';
import { MemoryConnector, type Connector, type ConnectorHealth } from '../../lib/index.js';
import { RunWatchdog, type RunPhase } from '../../lib/runner/internal/run-watchdog.js';
import { WorkerLiveness } from '../../lib/runner/internal/worker-liveness.js';
import { keptLogger } from '../engine/support/kept-logger.js';

const settings = {
  heartbeat: 1_000,
  stalledAfter: 60_000,
  startupGrace: 30_000,
  healthCheck: 5_000,
};

/** A watchdog over real liveness counting, on a virtual clock advanced by hand. */
function harness(phase: RunPhase = 'running') {
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const liveness = new WorkerLiveness(
    0,
    1_000,
    () => undefined,
    () => scheduler.now(),
  );
  const { logger, lines } = keptLogger(['info', 'warn']);
  const state = { phase, stopping: false };
  const watchdog = new RunWatchdog(
    settings,
    {
      activity: () => liveness.activity(),
      phase: () => state.phase,
      stopping: () => state.stopping,
    },
    logger,
    scheduler,
  );
  /** Runs the virtual clock up to `ms`. */
  const advanceTo = (ms: number): void => {
    scheduler.maxFrames = ms;
    scheduler.flush();
  };
  return { scheduler, liveness, watchdog, lines, state, advanceTo };
}

describe('RunWatchdog (virtual time)', () => {
  let subscriptions: Subscription[] = [];
  afterEach(() => {
    for (const subscription of subscriptions) subscription.unsubscribe();
    subscriptions = [];
  });

  it('reports a fetch that never returns with nothing in flight, once, until it returns', () => {
    const { liveness, watchdog, lines, advanceTo } = harness();
    const answer = new Subject<never>();
    const connector: Connector = { fetch: () => answer };
    liveness.instrumentConnector(connector);
    watchdog.start();
    subscriptions.push(connector.fetch({ size: 10, extra: {} }).subscribe());
    advanceTo(60_000);
    expect(watchdog.problems()).to.deep.equal([]);
    advanceTo(61_000);
    expect(watchdog.problems().map((problem) => problem.kind)).to.deep.equal(['fetch']);
    expect(watchdog.alive()).to.equal(false);
    expect(watchdog.ready()).to.equal(false);
    advanceTo(120_000);
    expect(lines.filter((line) => line.startsWith('warn'))).to.deep.equal([
      'warn watchdog: fetch stalled: a fetch has been under way for 61 s with nothing in flight',
    ]);
    answer.complete();
    subscriptions.push(connector.fetch({ size: 10, extra: {} }).subscribe());
    answer.complete();
    advanceTo(121_000);
    expect(watchdog.problems()).to.deep.equal([]);
    expect(watchdog.alive()).to.equal(true);
    expect(lines.at(-1)).to.equal('info watchdog: fetch recovered');
    watchdog.stop();
  });

  it('reports in-flight work without progress, and no poll with nothing in flight', () => {
    const { liveness, watchdog, advanceTo } = harness();
    const connector = new MemoryConnector({ source: [{ n: 1 }] });
    liveness.instrumentConnector(connector);
    watchdog.start();
    const fetched: unknown[] = [];
    subscriptions.push(connector.fetch({ size: 1, extra: {} }).subscribe((tx) => fetched.push(tx)));
    expect(fetched).to.have.length(1);
    advanceTo(61_000);
    expect(watchdog.problems().map((problem) => problem.detail)).to.deep.equal([
      '1 in flight, no progress for 61 s',
    ]);
    connector.settle(fetched[0] as never, { type: 'ack' });
    advanceTo(62_000);
    // Settled: nothing in flight; the last fetch started 62 s ago and none since.
    expect(watchdog.problems().map((problem) => problem.kind)).to.deep.equal(['poll']);
    subscriptions.push(connector.fetch({ size: 1, extra: {} }).subscribe());
    advanceTo(63_000);
    expect(watchdog.problems()).to.deep.equal([]);
    watchdog.stop();
  });

  it('reports a start-up longer than startupGrace, and not while the run is stopping', () => {
    const { watchdog, state, advanceTo, liveness } = harness('starting');
    watchdog.start();
    advanceTo(31_000);
    expect(watchdog.problems().map((problem) => problem.detail)).to.deep.equal([
      'start-up has taken 31 s',
    ]);
    state.phase = 'running';
    advanceTo(32_000);
    expect(watchdog.problems()).to.deep.equal([]);
    const connector: Connector = { fetch: () => EMPTY };
    liveness.instrumentConnector(connector);
    subscriptions.push(connector.fetch({ size: 1, extra: {} }).subscribe());
    state.stopping = true;
    advanceTo(200_000);
    expect(watchdog.problems()).to.deep.equal([]);
    watchdog.stop();
  });

  it('asks health() every healthCheck: unhealthy, throwing and silent connectors make it unready, not dead', () => {
    const { watchdog, advanceTo, lines } = harness();
    let said: ConnectorHealth = { healthy: true, state: 'connected' };
    watchdog.watchConnector('orders', { fetch: () => EMPTY, health: () => of(said) });
    watchdog.watchConnector('audit', {
      fetch: () => EMPTY,
      health: () => {
        throw new Error('socket closed');
      },
    });
    watchdog.watchConnector('slow', { fetch: () => EMPTY, health: () => NEVER });
    watchdog.watchConnector('plain', { fetch: () => EMPTY });
    watchdog.start();
    expect(watchdog.problems().map((problem) => problem.detail)).to.deep.equal([
      'connector "audit" health() threw: Error: socket closed',
    ]);
    said = { healthy: false, state: 'reconnecting', detail: 'ECONNREFUSED' };
    advanceTo(5_000);
    expect(watchdog.problems().map((problem) => problem.detail)).to.have.members([
      'connector "audit" health() threw: Error: socket closed',
      'connector "orders" unhealthy (reconnecting: ECONNREFUSED)',
      'connector "slow" health() failed: TimeoutError: Timeout has occurred',
    ]);
    expect(watchdog.alive()).to.equal(true);
    expect(watchdog.ready()).to.equal(false);
    expect([...watchdog.connectorHealth().keys()]).to.have.members(['orders', 'audit', 'slow']);
    said = { healthy: true, state: 'connected' };
    advanceTo(10_000);
    expect(watchdog.problems()).to.have.length(2);
    expect(lines).to.include('info watchdog: connector (orders) recovered');
    watchdog.stop();
  });

  it('leaves nothing scheduled once stopped', () => {
    const { scheduler, watchdog } = harness();
    watchdog.watchConnector('slow', {
      fetch: () => EMPTY,
      health: () => new Observable<ConnectorHealth>(() => undefined),
    });
    watchdog.start();
    watchdog.stop();
    expect(scheduler.actions).to.deep.equal([]);
  });
});
