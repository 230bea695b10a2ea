import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BrokerProcess } from './broker-process.js';
import { freePort } from './free-port.js';
import type { PrivateBroker } from './private-broker.js';

/** Where scripts/services/elasticmq.sh keeps the server's jars. */
const elasticmqLib = join(
  process.env['ERGON_SERVICES_CACHE'] ?? join(homedir(), '.cache', 'ergon-rx'),
  `elasticmq-${process.env['ELASTICMQ_VERSION'] ?? '1.7.1'}`,
  'lib',
);

/**
 * An ElasticMQ of its own on a free port, keeping queues (a conf file) and messages (an H2
 * database) in a temporary directory, so a restart keeps every message SQS acknowledged.
 * Uses the jars scripts/services/elasticmq.sh fetched.
 *
 * `DB_CLOSE_ON_EXIT=FALSE`: by default H2 closes the database from its own JVM shutdown hook,
 * racing ElasticMQ's; a message deleted or received during the stop then found the database
 * closed, ElasticMQ's persistence actor failed, and the JVM hung on SIGTERM (2 stops in 3 under
 * load) until the harness SIGKILLed it 15 s later: the "graceful" restart was a kill, 15 s
 * longer than meant, and the broker-restart row ran past its time. ElasticMQ closes the
 * database itself when it stops.
 */
export async function startPrivateSqs(): Promise<PrivateBroker> {
  if (!existsSync(elasticmqLib)) {
    throw new Error(`${elasticmqLib} is missing: run scripts/services/elasticmq.sh once`);
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ergon-fault-sqs-'));
  const config = join(dir, 'server.conf');
  writeFileSync(
    config,
    `include classpath("application.conf")
node-address { protocol = http, host = 127.0.0.1, port = ${port}, context-path = "" }
rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }
rest-stats { enabled = false }
queues-storage { enabled = true, path = "${join(dir, 'queues.conf')}" }
messages-storage { enabled = true, uri = "jdbc:h2:${join(dir, 'messages')};DB_CLOSE_ON_EXIT=FALSE" }
`,
  );
  const args = [
    '-Xmx256m',
    `-Dconfig.file=${config}`,
    '-cp',
    `${elasticmqLib}/*`,
    'org.elasticmq.server.Main',
  ];
  let server = await BrokerProcess.start('java', args, port, 60_000);
  let disposed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    restart: async (downFor = 0) => {
      await server.stop();
      await delay(downFor);
      server = await BrokerProcess.start('java', args, port, 60_000);
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await server.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
