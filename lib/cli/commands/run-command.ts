import { isObservable, tap, type Observable } from 'rxjs';
import { defineTask } from '../../runner/define-task.js';
import { runTask } from '../../runner/run-task.js';
import { WorkerLiveness } from '../../runner/internal/worker-liveness.js';
import { CliUsageError } from '../cli-errors.js';
import { parseArguments, type CliIo, type Command } from '../command.js';
import { loadTaskDefinition, parseModuleReference } from '../load-task-module.js';
import { ProgressReporter } from '../progress-reporter.js';

const usage = `Usage: ergon run <module>[#export] [--workers N] [--dashboard [host]:port] [--no-progress]

Imports <module> (relative to the working directory), takes its export (default: "default"),
which must be a task definition made by defineTask, and runs it with runTask: set-up, run,
graceful shutdown on SIGTERM/SIGINT. Exits with runTask's code (0, 1, 2, 130, 143).

When the task's run returns an Observable of outcomes, progress is reported on stdout: a live
line on a TTY and a summary at the end, one JSON summary line otherwise.

Options:
  --workers N                 run N worker processes (overrides the definition's "workers")
  --dashboard [host]:port     serve the live dashboard and its JSON API on host:port (host
                              default 127.0.0.1; :0 for any free port, which is logged);
                              overrides the definition's "dashboard" address
  --no-progress               do not report progress
  --help                      show this help

A .ts module needs tsx: node --import tsx node_modules/ergon-rx/dist/cli/main.js run task.ts`;

function parseWorkers(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const workers = Number(value);
  if (!Number.isInteger(workers) || workers < 1) {
    throw new CliUsageError(`--workers must be an integer ≥ 1, got "${value}"`, 'run');
  }
  return workers;
}

/**
 * `--dashboard` as `:9400`, `9400`, `0.0.0.0:9400` or `[::]:9400`: the host (`undefined`: the
 * default) and the port.
 *
 * @throws CliUsageError for anything else.
 */
export function parseDashboardAddress(value: string): { host?: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:[\]]*):)?(\d{1,5})$/.exec(value.trim());
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port > 65_535) {
    throw new CliUsageError(
      `--dashboard expects [host]:port such as :9400 or 0.0.0.0:9400, got "${value}"`,
      'run',
    );
  }
  const host = (match[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return host === '' ? { port } : { host, port };
}

/** `ergon run`: runs a task definition with `runTask`, reporting progress. */
export const runCommand: Command = {
  name: 'run',
  summary: 'run a task definition (runTask), with a progress line',
  usage,
  async execute(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArguments('run', args, {
      workers: 'string',
      dashboard: 'string',
      'no-progress': 'boolean',
    });
    const [target, ...extra] = parsed.positionals;
    if (target === undefined) throw new CliUsageError('missing <module>', 'run');
    if (extra.length > 0) throw new CliUsageError(`unexpected argument "${extra[0]}"`, 'run');
    const workers = parseWorkers(parsed.strings['workers']);
    const address = parsed.strings['dashboard'];
    const dashboardAddress = address === undefined ? undefined : parseDashboardAddress(address);
    const { definition } = await loadTaskDefinition(parseModuleReference('run', target), io.cwd);
    const progress = !parsed.booleans.has('no-progress');
    // Counts what the task's connectors hand out and settle, for the "in flight" of the line.
    const activity = new WorkerLiveness(0, 1000, () => undefined);
    const connectors = Object.fromEntries(
      Object.entries(definition.connectors).map(([name, factory]) => [
        name,
        async (context: Parameters<typeof factory>[0]) => {
          const connector = await factory(context);
          activity.instrumentConnector(connector);
          return connector;
        },
      ]),
    );
    // Written after runTask resolved, so the summary is the last line of stdout even when the
    // task logs to the console (the runner's own closing lines come before it).
    let reporter: ProgressReporter | undefined;
    const reported = (run: Observable<unknown>): Observable<unknown> => {
      reporter = new ProgressReporter({
        stream: io.stdout,
        inFlight: () => activity.snapshot().inFlight,
      });
      return run.pipe(tap((value) => reporter?.record(value)));
    };
    const task = defineTask({
      ...definition,
      connectors: progress ? connectors : definition.connectors,
      workers: workers ?? definition.workers,
      dashboard:
        dashboardAddress === undefined
          ? definition.dashboard
          : { ...definition.dashboard, host: '127.0.0.1', ...dashboardAddress },
      run: (context) => {
        const run = definition.run(context);
        if (!progress) return run;
        if (isObservable(run)) return reported(run);
        // `run: async (ctx) => consume(…)`: the runner subscribes to the Observable it resolves.
        return Promise.resolve(run).then((value) =>
          isObservable(value) ? reported(value) : value,
        );
      },
    });
    const code = await runTask(task);
    reporter?.finish();
    return code;
  },
};
