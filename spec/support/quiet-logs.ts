import log from 'loglevel';

/**
 * Where the first load of this module keeps `ERGON_LOG_LEVEL` as the suite was started with
 * (`''`: unset). The module can be loaded twice in one process (once by mocha's `require`,
 * once through ESM imports), and the second load must not take the `silent` the first set.
 */
const startingKey = 'ERGON_SPEC_LOG_LEVEL_AT_START';
process.env[startingKey] ??= process.env['ERGON_LOG_LEVEL'] ?? '';

/** `ERGON_LOG_LEVEL` as the suite was started with (`undefined`: unset). */
export const startingLogLevel =
  process.env[startingKey] === '' ? undefined : process.env[startingKey];

// Loaded by .mocharc.json before any spec: the specs fail attempts on purpose by the thousand,
// so loggers start silent, and the runner (which sets the level from ERGON_LOG_LEVEL) keeps
// them so. Specs about logging set their own levels (configureLogging does), or the variable.
// Child processes get the variable as it was: see `childEnvironment`.
process.env['ERGON_LOG_LEVEL'] ??= 'silent';
log.setDefaultLevel('silent');

/**
 * The environment for a child process a spec starts: this one's, with `ERGON_LOG_LEVEL` as the
 * suite was started with, so the child logs as a real process would (its output is what the
 * spec checks).
 */
export function childEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  Reflect.deleteProperty(env, startingKey);
  if (startingLogLevel === undefined) delete env['ERGON_LOG_LEVEL'];
  else env['ERGON_LOG_LEVEL'] = startingLogLevel;
  return env;
}

/**
 * Mocha root hooks. With `--parallel`, a root `beforeAll` runs before each spec file, so a root
 * level one file left behind (a run that applied `info` while `ERGON_LOG_LEVEL` was unset for
 * it) does not make the next file in the same worker print: the root level, which loggers
 * without a level of their own follow, goes back to where the suite started. Without
 * `--parallel` it runs once, before everything, when nothing has changed yet.
 */
export const mochaHooks = {
  beforeAll(): void {
    if (startingLogLevel !== undefined) return; // the suite was asked for a level: keep it
    process.env['ERGON_LOG_LEVEL'] = 'silent';
    log.setLevel('silent', false);
    log.rebuild();
  },
};
