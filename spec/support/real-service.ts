import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';

/** The real servers integration specs talk to, all on 127.0.0.1. */
export const services = {
  postgres: { name: 'PostgreSQL', port: 5432 },
  redis: { name: 'Redis', port: 6379 },
  rabbitmq: { name: 'RabbitMQ', port: 5672 },
  nats: { name: 'NATS', port: 4222 },
  elasticmq: { name: 'ElasticMQ (SQS, scripts/services/elasticmq.sh)', port: 9324 },
  s3: { name: 'S3Mock (S3, scripts/services/s3.sh)', port: 9090 },
  kafka: { name: 'Kafka', port: 9092 },
} as const;

export type ServiceName = keyof typeof services;

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function reachable(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

/**
 * For a `before` hook of an integration suite: skips the suite with a message when the server
 * is down, unless `ERGON_REQUIRE_SERVICES=1` (set by CI), where a missing server fails.
 *
 * @example
 * ```ts
 * before(async function () { await requireService(this, 'rabbitmq'); });
 * ```
 */
export async function requireService(context: Mocha.Context, service: ServiceName): Promise<void> {
  const { name, port } = services[service];
  if (await reachable(port)) return;
  const message = `${name} is not reachable on 127.0.0.1:${port}`;
  if (process.env['ERGON_REQUIRE_SERVICES'] === '1') {
    throw new Error(`${message} and ERGON_REQUIRE_SERVICES=1: start it (see .ci/run)`);
  }
  console.warn(`      skipped: ${message} (set ERGON_REQUIRE_SERVICES=1 to fail instead)`);
  context.skip();
}

/** A queue/table/stream name no other run uses: `<prefix>_<pid>_<random>`, lower case. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`.toLowerCase();
}

/** Where Debian's `chromium` package puts the browser (`apt-get install -y chromium`). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * For a `before` hook of a browser spec: skips the suite when Debian's Chromium is not
 * installed, unless `ERGON_REQUIRE_SERVICES=1` (CI installs it), where its absence fails.
 */
export function requireChromium(context: Mocha.Context): void {
  if (existsSync(CHROMIUM)) return;
  const message = `Chromium is not installed at ${CHROMIUM}`;
  if (process.env['ERGON_REQUIRE_SERVICES'] === '1') {
    throw new Error(`${message} and ERGON_REQUIRE_SERVICES=1: apt-get install -y chromium`);
  }
  console.warn(`      skipped: ${message} (set ERGON_REQUIRE_SERVICES=1 to fail instead)`);
  context.skip();
}
