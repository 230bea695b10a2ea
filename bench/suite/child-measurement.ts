import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../contenders/run-result.js';
import type { ContenderRef } from './contender-ref.js';
import { resultMarker } from './result-marker.js';

/** One run of a contender in a fresh process. */
export interface Measurement extends RunResult {
  /** Peak resident set size of the process, in MiB (`process.resourceUsage().maxRSS`). */
  readonly rss: number;
  /**
   * CPU time (user + system) this process spent per transaction during the measured run, in
   * µs (setup and cleanup of broker runs included; the broker's own CPU is not). Unlike wall
   * time, it hardly moves when other work loads the machine.
   */
  readonly cpu: number;
}

const entry = fileURLToPath(new URL('./contender-process.js', import.meta.url));

/**
 * Runs `ref` in a fresh `node` process and resolves with what it measured; rejects
 * with the child's stderr when it fails or runs past `timeoutMs`.
 */
export function measureInChild(ref: ContenderRef, timeoutMs: number): Promise<Measurement> {
  const args = [
    ...(ref.nodeFlags ?? []),
    entry,
    ref.module,
    ref.name,
    JSON.stringify(ref.params),
    ...(ref.warmup === undefined ? [] : [JSON.stringify(ref.warmup)]),
  ];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const line = stdout.split('\n').find((text) => text.startsWith(resultMarker));
        if (error !== null || line === undefined) {
          const reason = error?.message ?? 'no result line';
          reject(new Error(`${ref.module} ${ref.name} failed: ${reason}\n${stderr}`));
          return;
        }
        resolve(JSON.parse(line.slice(resultMarker.length)) as Measurement);
      },
    );
  });
}
