import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The path of `examples/<name>`. */
function examplePath(name: string): string {
  return fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
}

/** What an example printed, and how it ended. */
export interface ExampleRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** `stdout` without its last newline, split into lines. */
  readonly lines: readonly string[];
}

export interface ExampleOptions {
  /** The child's environment (default: this process's, so its loggers stay as quiet). */
  readonly env?: NodeJS.ProcessEnv;
  /** How long the example may run before it is killed and the spec fails (default 50 s). */
  readonly timeout?: number;
}

/**
 * Runs `examples/<name>` with tsx as a user would, and waits for it to end. An example that
 * does not end within `timeout` is killed and fails the spec with what it printed, instead of
 * hanging the suite.
 */
export function runExample(
  name: string,
  args: readonly string[] = [],
  options: ExampleOptions = {},
): ExampleRun {
  const timeout = options.timeout ?? 50_000;
  const run = spawnSync(process.execPath, ['--import', 'tsx', examplePath(name), ...args], {
    encoding: 'utf8',
    env: options.env ?? process.env,
    timeout,
    killSignal: 'SIGKILL',
  });
  if (run.error !== undefined) {
    throw new Error(
      `examples/${name} did not finish within ${timeout} ms (${run.error.message})\n` +
        `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
  }
  return {
    status: run.status,
    stdout: run.stdout,
    stderr: run.stderr,
    lines: run.stdout.trim().split('\n'),
  };
}

/**
 * Starts `examples/<name>` with tsx and returns the running child (for examples a spec talks
 * to while they run); the spec ends it.
 */
export function startExample(
  name: string,
  args: readonly string[] = [],
  options: Pick<ExampleOptions, 'env'> = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', examplePath(name), ...args], {
    env: options.env ?? process.env,
  });
}
