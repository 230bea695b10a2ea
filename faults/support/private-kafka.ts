import { setTimeout as delay } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrokerProcess } from './broker-process.js';
import { freePort } from './free-port.js';
import type { PrivateBroker } from './private-broker.js';

const script = fileURLToPath(new URL('../../scripts/services/kafka.sh', import.meta.url));

/**
 * A Kafka broker of its own (KRaft, broker and controller in one JVM, started by
 * `scripts/services/kafka.sh` in the foreground) on two free ports, storing in a temporary
 * directory, so a restart keeps every acknowledged record.
 */
export async function startPrivateKafka(): Promise<PrivateBroker> {
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ergon-fault-kafka-'));
  const env = {
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_DATA: dir,
    KAFKA_FOREGROUND: '1',
  };
  const start = (): Promise<BrokerProcess> =>
    BrokerProcess.start('bash', [script], port, 90_000, { env });
  let server = await start();
  let disposed = false;
  return {
    url: `127.0.0.1:${port}`,
    port,
    restart: async (downFor = 0) => {
      await server.stop();
      await delay(downFor);
      server = await start();
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
