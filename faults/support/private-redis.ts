import { setTimeout as delay } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from './broker-process.js';
import { freePort } from './free-port.js';
import type { PrivateBroker } from './private-broker.js';

/**
 * A `redis-server` of its own on a free port, with an append-only file fsynced at every write
 * (`appendfsync always`) in a temporary directory, so a restart keeps every acknowledged write.
 */
export async function startPrivateRedis(): Promise<PrivateBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ergon-fault-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
  ];
  let server = await BrokerProcess.start('redis-server', args, port);
  let disposed = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    restart: async (downFor = 0) => {
      await server.stop();
      await delay(downFor);
      server = await BrokerProcess.start('redis-server', args, port);
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
