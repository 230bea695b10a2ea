// Measures the runner's signal and fault scenarios on the fixtures of the process specs and
// prints the Markdown table of RELIABILITY.md ("Runner: signals and faults"):
//
//   node --import tsx spec/runner/support/measure-shutdowns.ts
//
// One run per scenario, one after the other (a pool scenario forks two workers).
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { countsIn, eventsIn, startTaskProcess } from './task-process.js';
import { donesIn, startsIn, startWorkersProcess } from './workers-process.js';

interface Row {
  readonly scenario: string;
  readonly exit: string;
  readonly drained: string;
  readonly released: string;
  readonly took: string;
  readonly grace: string;
}

/** What the runner said it was draining at the stop (`draining N in flight`), summed over workers. */
function drainingIn(stderr: string): number | undefined {
  const counts = [...stderr.matchAll(/draining (\d+) in flight/g)].map((m) => Number(m[1]));
  return counts.length === 0 ? undefined : counts.reduce((a, b) => a + b, 0);
}

function stopTook(stdout: string): number | undefined {
  const line = eventsIn(stdout).find((event) => event.startsWith('stop-took '));
  return line === undefined ? undefined : Number(line.slice('stop-took '.length));
}

async function single(
  scenario: string,
  label: string,
  grace: string,
  stop: (kill: (signal: NodeJS.Signals) => void) => Promise<void>,
  waitFor = 'EVENT run',
): Promise<Row> {
  const task = startTaskProcess(scenario);
  await task.waitFor(waitFor);
  await stop((signal) => task.child.kill(signal));
  const { code, stdout, stderr } = await task.exited;
  const counts = stdout.includes('COUNTS ') ? countsIn(stdout) : undefined;
  const draining = drainingIn(stderr);
  const abandoned = [...stderr.matchAll(/(\S+ \S+) did not close before/g)].map((m) => m[1]);
  const took = stopTook(stdout);
  return {
    scenario: label,
    exit: String(code),
    drained:
      counts === undefined
        ? 'nothing was running'
        : `${counts.finished} of ${counts.started} started handlers finished (acked ${counts.ack})` +
          (draining === undefined ? '' : `; runner reported ${draining} in flight`),
    released:
      (counts === undefined ? '—' : `${counts.release} released`) +
      (abandoned.length > 0 ? `; abandoned: ${abandoned.join(', ')}` : '') +
      (stderr.includes('exit hook did not finish') ? '; exit hook abandoned' : ''),
    took: took === undefined ? '—' : `${took} ms`,
    grace,
  };
}

async function pool(
  scenario: string,
  label: string,
  grace: string,
  stop: (pool: ReturnType<typeof startWorkersProcess>) => Promise<void>,
  port?: number,
): Promise<Row> {
  const workers = startWorkersProcess(scenario, port);
  const startedAt = performance.now();
  let stoppedAt = startedAt;
  const stopping = (async () => {
    if (scenario === 'port-in-use') return;
    await workers.waitUntil((out) => startsIn(out).length >= 2);
    await sleep(600);
    stoppedAt = performance.now();
    await stop(workers);
  })();
  const { code, stdout, stderr } = await workers.exited;
  await stopping;
  const dones = donesIn(stdout);
  const finished = dones.reduce((sum, d) => sum + d.finished, 0);
  const started = dones.reduce((sum, d) => sum + d.started, 0);
  const acked = dones.reduce((sum, d) => sum + d.ack, 0);
  const released = dones.reduce((sum, d) => sum + d.release, 0);
  const draining = drainingIn(stderr);
  const resolved = stdout.includes('EVENT resolved 1');
  const exit = resolved
    ? '1 (`runTask` resolves it; its signal handlers removed)'
    : scenario === 'orphan'
      ? 'primary killed; workers exit 1'
      : String(code);
  return {
    scenario: label,
    exit,
    drained:
      dones.length === 0
        ? 'nothing was running'
        : `${dones.length} worker runs: ${finished} of ${started} started handlers finished (acked ${acked})` +
          (draining === undefined ? '' : `; runners reported ${draining} in flight`),
    released: `${released} released`,
    took: resolved
      ? '— (no stop: the primary returns before forking)'
      : `${Math.round(performance.now() - stoppedAt)} ms (signal → last process gone)`,
    grace,
  };
}

const rows: Row[] = [];
const signalAfter =
  (ms: number, signal: NodeJS.Signals) => async (kill: (s: NodeJS.Signals) => void) => {
    await sleep(ms);
    kill(signal);
  };
rows.push(await single('drain', 'SIGTERM during load', '15 s', signalAfter(500, 'SIGTERM')));
rows.push(await single('drain', 'SIGINT (Ctrl-C) during load', '15 s', signalAfter(500, 'SIGINT')));
rows.push(
  await single(
    'hang',
    'SIGTERM, then a second SIGTERM 300 ms later (hung handlers)',
    '15 s',
    async (kill) => {
      await sleep(300);
      kill('SIGTERM');
      await sleep(300);
      kill('SIGTERM');
    },
  ),
);
rows.push(
  await single(
    'slow-stop',
    'SIGTERM, hung handlers, exit hook 0.6 s, two closes of 1.5 s: the grace runs out',
    '1 s (+1 s forced)',
    signalAfter(300, 'SIGTERM'),
  ),
);
rows.push(
  await single(
    'leaked-rejection',
    'unhandled rejection in a handler (no signal)',
    '15 s',
    async () => undefined,
  ),
);
rows.push(
  await single(
    'slow-factory',
    'SIGTERM while a connector factory hangs',
    '1 s (+1 s forced)',
    signalAfter(0, 'SIGTERM'),
    'EVENT factory',
  ),
);
rows.push(
  await single(
    'slow-init',
    'SIGINT while an init() waits (it honours its signal)',
    '1 s',
    signalAfter(0, 'SIGINT'),
    'EVENT init',
  ),
);
rows.push(
  await single(
    'slow-exit',
    'exit hook hangs after the run ended (no signal)',
    '0.3 s (+1 s forced)',
    async () => undefined,
  ),
);
rows.push(
  await single(
    'wait-stop',
    'SIGTERM to a run that only waits for stop$',
    '1 s',
    signalAfter(300, 'SIGTERM'),
  ),
);
rows.push(
  await pool(
    'slow-drain',
    'pool: SIGTERM to the primary',
    '10 s',
    async (p) => void p.child.kill('SIGTERM'),
  ),
);
rows.push(
  await pool('slow-drain', 'pool: SIGTERM to the process group', '10 s', async (p) => {
    process.kill(-(p.child.pid ?? 0), 'SIGTERM');
  }),
);
rows.push(
  await pool(
    'slow-drain',
    'pool: SIGTERM to the primary, 100 ms later to each worker',
    '10 s',
    async (p) => {
      p.child.kill('SIGTERM');
      await sleep(100);
      for (const start of startsIn(p.output())) {
        try {
          process.kill(start.pid, 'SIGTERM');
        } catch {
          // gone already
        }
      }
    },
  ),
);
rows.push(
  await pool(
    'slow-drain',
    'pool: SIGINT twice to the process group (forced)',
    '10 s',
    async (p) => {
      process.kill(-(p.child.pid ?? 0), 'SIGINT');
      await sleep(200);
      process.kill(-(p.child.pid ?? 0), 'SIGINT');
    },
  ),
);
rows.push(
  await pool(
    'orphan',
    'pool: SIGKILL of the primary',
    '10 s',
    async (p) => void p.child.kill('SIGKILL'),
  ),
);
const taken = createServer();
await new Promise<void>((resolve) => taken.listen(0, resolve));
const address = taken.address();
rows.push(
  await pool(
    'port-in-use',
    'pool: health port already in use',
    '—',
    async () => undefined,
    typeof address === 'object' && address !== null ? address.port : 0,
  ),
);
taken.close();

const cell = (text: string): string => text.replace(/\|/g, '\\|');
process.stdout.write(
  [
    '| scenario | exit code | drained | released / abandoned | shutdown took | grace |',
    '| --- | --- | --- | --- | --: | --- |',
    ...rows.map(
      (row) =>
        `| ${cell(row.scenario)} | ${cell(row.exit)} | ${cell(row.drained)} | ${cell(row.released)} | ${row.took} | ${row.grace} |`,
    ),
  ].join('\n') + '\n',
);
