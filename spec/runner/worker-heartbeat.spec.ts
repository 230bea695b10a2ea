import { expect } from 'chai';
import { EMPTY, of, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import type { ConnectorHealth } from '../../lib/index.js';
import { RunWatchdog } from '../../lib/runner/internal/run-watchdog.js';
import { WorkerLiveness } from '../../lib/runner/internal/worker-liveness.js';
import {
  isWorkerHeartbeat,
  type WorkerHeartbeat,
} from '../../lib/runner/internal/worker-messages.js';
import { keptLogger } from '../engine/support/kept-logger.js';

describe("a pool worker's heartbeat and its connectors' health", () => {
  it("carries what each connector's health() said last, once it answered", () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const sent: WorkerHeartbeat[] = [];
    const liveness = new WorkerLiveness(
      2,
      1_000,
      (beat) => sent.push(beat),
      () => scheduler.now(),
    );
    const watchdog = new RunWatchdog(
      { heartbeat: 1_000, stalledAfter: 60_000, startupGrace: 30_000, healthCheck: 5_000 },
      { activity: () => liveness.activity(), phase: () => 'running', stopping: () => false },
      keptLogger(['warn']).logger,
      scheduler,
    );
    liveness.reportConnectorHealth(() => watchdog.connectorHealth());
    let said: ConnectorHealth = { healthy: true, state: 'connected' };
    watchdog.watchConnector('orders', { fetch: () => EMPTY, health: () => of(said) });
    expect(liveness.snapshot().connectors, 'not asked yet').to.deep.equal([]);
    watchdog.start();
    expect(liveness.snapshot().connectors).to.deep.equal([
      { name: 'orders', healthy: true, state: 'connected' },
    ]);
    said = { healthy: false, state: 'reconnecting', detail: 'connect ECONNREFUSED' };
    scheduler.maxFrames = 5_000;
    scheduler.flush();
    const beat = liveness.snapshot();
    expect(beat.connectors).to.deep.equal([
      { name: 'orders', healthy: false, state: 'reconnecting', detail: 'connect ECONNREFUSED' },
    ]);
    expect(isWorkerHeartbeat(JSON.parse(JSON.stringify(beat)))).to.equal(true);
    watchdog.stop();
  });

  it('is not taken for a heartbeat with malformed connector entries', () => {
    const beat = {
      type: 'ergon:heartbeat',
      workerId: 1,
      state: 'idle',
      inFlight: 0,
      sinceProgressMs: 0,
    };
    expect(isWorkerHeartbeat(beat)).to.equal(true);
    for (const connectors of [
      'orders',
      [{ name: 'orders', healthy: 'yes', state: 'connected' }],
      [{ name: 'orders', healthy: true }],
      [{ name: 'orders', healthy: true, state: 'connected', detail: 42 }],
      [null],
    ]) {
      expect(isWorkerHeartbeat({ ...beat, connectors }), JSON.stringify(connectors)).to.equal(
        false,
      );
    }
  });
});
