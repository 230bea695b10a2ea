/**
 * Consume + ack throughput of every broker connector against its raw driver (issue #6): runs
 * each connector's own script in `bench/connectors/` one after the other, each in a fresh
 * process on the built `dist/`, and prints their tables. A script that fails (its broker is
 * down, say) is reported and the others still run; the exit code is then 1.
 *
 * Usage: npm run bench:connectors [-- rabbitmq,postgres,redis,nats,sqs,kafka,excel,postgres-table]
 * (each script also runs alone: `node .bench/connectors/<name>.js`, arguments in its header).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const connectors = [
  'rabbitmq',
  'postgres',
  'redis',
  'nats',
  'sqs',
  'kafka',
  'excel',
  'postgres-table',
] as const;
type ConnectorName = (typeof connectors)[number];

function isConnector(name: string): name is ConnectorName {
  return (connectors as readonly string[]).includes(name);
}

const requested = process.argv[2]?.split(',') ?? [...connectors];
const unknown = requested.filter((name) => !isConnector(name));
if (unknown.length > 0) {
  throw new Error(
    `unknown connector ${unknown.join(', ')}: expected a comma-separated list of ${connectors.join(', ')}`,
  );
}

const failed: string[] = [];
for (const name of requested) {
  console.log(`\n## ${name}\n`);
  const script = fileURLToPath(new URL(`./connectors/${name}.js`, import.meta.url));
  const { status, error } = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (error !== undefined || status !== 0) {
    failed.push(name);
    console.log(`(${name} failed: ${error?.message ?? `exit code ${String(status)}`})`);
  }
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
