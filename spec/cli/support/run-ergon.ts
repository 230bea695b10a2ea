import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEnvironment } from '../../support/quiet-logs.js';

const main = fileURLToPath(new URL('../../../lib/cli/main.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
/** tsx resolved from this repository, so the CLI also runs with another working directory. */
const tsx = import.meta.resolve('tsx');

/** What an `ergon` child process printed, and its exit code. */
export interface ErgonResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node --import tsx lib/cli/main.ts ...args` in `cwd` (default: the repository root). */
export function runErgon(args: readonly string[], cwd: string = root): Promise<ErgonResult> {
  const child = spawn(process.execPath, ['--import', tsx, main, ...args], {
    env: childEnvironment(),
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The stdout lines of a result, parsed as JSON. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
