import { setTimeout as delay } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BrokerProcess } from './broker-process.js';
import { freePort } from './free-port.js';
import type { PrivateBroker } from './private-broker.js';

const run = promisify(execFile);

/**
 * A second RabbitMQ node of its own (node name `ergon-fault-<random>@localhost`, free AMQP and
 * distribution ports, no plugins, its database and logs in a temporary directory owned by
 * `rabbitmq`), next to the shared one, with `settings.rabbit` in its `rabbit` application
 * environment (e.g. `{ consumer_timeout: 3000 }`). A start takes about 15 s; a restart is
 * `rabbitmqctl stop` (graceful: quorum queues keep their messages) and a new start.
 */
export async function startPrivateRabbitmq(
  settings: { readonly rabbit?: Readonly<Record<string, number>> } = {},
): Promise<PrivateBroker & { readonly node: string }> {
  const port = await freePort();
  const distPort = await freePort();
  const node = `ergon-fault-${randomBytes(3).toString('hex')}@localhost`;
  const dir = mkdtempSync(join(tmpdir(), 'ergon-fault-rabbitmq-'));
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  // Settings of the `rabbit` application (`consumer_timeout`, `channel_tick_interval`, …),
  // as an advanced.config: this node's only, the shared broker keeps its own.
  const rabbit = Object.entries(settings.rabbit ?? {}).map(([key, value]) => `{${key}, ${value}}`);
  writeFileSync(join(dir, 'advanced.config'), `[{rabbit, [${rabbit.join(', ')}]}].\n`);
  const uid = Number((await run('id', ['-u', 'rabbitmq'])).stdout);
  const gid = Number((await run('id', ['-g', 'rabbitmq'])).stdout);
  chownSync(dir, uid, gid);
  chownSync(join(dir, 'enabled_plugins'), uid, gid);
  chownSync(join(dir, 'advanced.config'), uid, gid);
  const environment = {
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    RABBITMQ_CONFIG_FILE: join(dir, 'none'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
  };
  const start = (): Promise<BrokerProcess> =>
    BrokerProcess.start('rabbitmq-server', [], port, 60_000, { cwd: dir, env: environment });
  const stop = async (): Promise<void> => {
    await run('rabbitmqctl', ['-n', node, 'stop']);
  };
  let server = await start();
  let disposed = false;
  return {
    /** The node name, for `rabbitmqctl -n <node>`. */
    node,
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    port,
    restart: async (downFor = 0) => {
      await stop();
      await server.stop();
      await delay(downFor);
      server = await start();
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await stop().catch(() => undefined);
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
