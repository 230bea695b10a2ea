import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { requireService, uniqueName, type ServiceName } from '../../support/real-service.js';
import { adminQuery } from '../postgres/fixtures/queue-fixture.js';

const fixture = fileURLToPath(new URL('./fixtures/tick-worker.ts', import.meta.url));

/** Runs a worker process to its end; resolves with the tick ids it ran. */
function worker(options: Record<string, unknown>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`tick worker exited with ${code}`));
        return;
      }
      const ran = output
        .split('\n')
        .filter((line) => line.startsWith('tick '))
        .map((line) => line.split(' ').slice(2).join(' '));
      resolve(ran);
    });
  });
}

for (const store of ['postgres', 'redis'] as const satisfies readonly ServiceName[]) {
  describe(`N=3 processes sharing a ${store} tick store (real ${store})`, function () {
    this.timeout(60_000);
    const table = uniqueName('ergon_ticks');
    const prefix = uniqueName('ergon-ticks');

    before(async function () {
      await requireService(this, store);
    });

    after(async () => {
      if (store === 'postgres') await adminQuery(`DROP TABLE IF EXISTS public."${table}"`);
      else {
        const redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
    });

    it('each tick runs once, and no tick between the first and the last is missed', async () => {
      const every = 200;
      const schedule = uniqueName('every-200ms');
      const endAt = Date.now() + 9_000;
      const ran = (
        await Promise.all(
          [1, 2, 3].map(() => worker({ store, schedule, every, endAt, table, prefix })),
        )
      ).map((ids) => ids.sort());
      const all = ran.flat().sort();
      expect(new Set(all).size, 'ticks run more than once').to.equal(all.length);
      const times = all.map((id) => Date.parse(id.slice(id.indexOf('#') + 1)));
      expect(times.length).to.be.at.least(5);
      for (let n = 1; n < times.length; n++) {
        expect((times[n] ?? 0) - (times[n - 1] ?? 0), `gap after tick ${n}`).to.equal(every);
      }
      expect(
        ran.filter((ids) => ids.length > 0).length,
        'more than one worker ran ticks',
      ).to.be.at.least(2);
    });
  });
}
