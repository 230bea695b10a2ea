import { setTimeout as delay } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import type { PrivateBroker } from './private-broker.js';

const run = promisify(execFile);

/** The `bin` directory of the newest PostgreSQL installed under /usr/lib/postgresql. */
function postgresBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions[0] === undefined) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return join('/usr/lib/postgresql', versions[0], 'bin');
}

/** Runs a PostgreSQL tool as the `postgres` user (the server refuses to run as root). */
async function asPostgres(tool: string, args: readonly string[]): Promise<void> {
  await run('runuser', ['-u', 'postgres', '--', join(postgresBin(), tool), ...args]);
}

/**
 * A PostgreSQL server of its own (`initdb` in a temporary directory owned by `postgres`, trust
 * authentication, database `postgres`) on a free port, driven with `pg_ctl`; a restart is
 * `pg_ctl stop -m fast`, then `pg_ctl start`.
 */
export async function startPrivatePostgres(): Promise<PrivateBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ergon-fault-pg-'));
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout);
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout);
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on`;
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const pgCtl = (...args: string[]): Promise<void> =>
    asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', ...args]);
  await pgCtl('start');
  let disposed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    restart: async (downFor = 0) => {
      await pgCtl('stop', '-m', 'fast');
      await delay(downFor);
      await pgCtl('start');
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await pgCtl('stop', '-m', 'immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
