import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type {
  DashboardDeadLetters,
  DashboardFailures,
  DashboardStatus,
} from '../../lib/runner/index.js';
import { freePort } from '../support/free-port.js';
import { childEnvironment } from '../support/quiet-logs.js';

const example = fileURLToPath(new URL('../../examples/operations-dashboard.ts', import.meta.url));

describe('examples/operations-dashboard.ts', () => {
  it('serves its dashboard while orders flow, shows declined orders with trace ids and as dead letters, redrives one, and exits 0', async function () {
    this.timeout(60_000);
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', example, '4', String(port)], {
      env: childEnvironment(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let status: DashboardStatus | undefined;
    let failures: DashboardFailures | undefined;
    for (let i = 0; i < 200; i++) {
      try {
        const base = `http://127.0.0.1:${port}/api/`;
        status = (await (await fetch(`${base}status`)).json()) as DashboardStatus;
        failures = (await (await fetch(`${base}failures`)).json()) as DashboardFailures;
        if (status.totals.success > 0 && failures.failures.length > 0) break;
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
    expect(status?.task).to.equal('orders');
    expect(status?.totals.success).to.be.greaterThan(0);
    expect(status?.limit).to.be.a('number');
    const failure = failures?.failures[0];
    expect(failure?.error).to.match(/card declined for order \d+/);
    expect(failure?.traceUrl).to.equal(`http://localhost:16686/trace/${failure?.traceId}`);
    const base = `http://127.0.0.1:${port}/api/dead-letters`;
    const dead = (await (await fetch(base)).json()) as DashboardDeadLetters;
    const letter = dead.connectors[0]?.letters[0];
    expect(letter?.error).to.match(/card declined for order \d+/);
    const redrive = await fetch(`${base}/redrive`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ connector: 'orders', ids: [letter?.id] }),
    });
    expect(await redrive.json()).to.deep.equal({ redriven: [letter?.id], skipped: [] });
    await sleep(500);
    const again = (await (await fetch(base)).json()) as DashboardDeadLetters;
    expect(
      again.connectors[0]?.letters.map((each) => each.id),
      'processed, not dead-lettered again',
    ).to.not.include(letter?.id);
    expect(await exited, stderr).to.equal(0);
  });
});
