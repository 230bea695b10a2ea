import { setTimeout as delay } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProcess } from './broker-process.js';
import { freePort } from './free-port.js';
import type { PrivateBroker } from './private-broker.js';

/** A `nats-server` of its own with JetStream, on a free port, storing in a temporary directory. */
export async function startPrivateNats(): Promise<PrivateBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ergon-fault-nats-'));
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir];
  let server = await BrokerProcess.start('nats-server', args, port);
  let disposed = false;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    restart: async (downFor = 0) => {
      await server.stop();
      await delay(downFor);
      server = await BrokerProcess.start('nats-server', args, port);
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
