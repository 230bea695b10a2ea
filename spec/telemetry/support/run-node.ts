import { spawn } from 'node:child_process';
import { childEnvironment } from '../../support/quiet-logs.js';

/** What a child process printed, and its exit code. */
export interface NodeResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node --import tsx ...args` with `env` added to this process's environment (its log
 * level as the suite was started with, see `childEnvironment`), and resolves once it exited.
 */
export function runNode(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<NodeResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: { ...childEnvironment(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
