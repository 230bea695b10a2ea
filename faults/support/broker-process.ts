import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { reachable } from '../../spec/support/real-service.js';

/** A server started as a child process (foreground), with its output kept for error messages. */
export class BrokerProcess {
  private output = '';
  private readonly ended: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly what: string,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => void (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => void (this.output += chunk.toString()));
    this.ended = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /**
   * Starts `command` (in `options.cwd`, with `options.env` added to the environment) and
   * resolves once 127.0.0.1:`port` accepts connections (at most `within` ms).
   */
  static async start(
    command: string,
    args: readonly string[],
    port: number,
    within = 30_000,
    options: { cwd?: string; env?: Readonly<Record<string, string>> } = {},
  ): Promise<BrokerProcess> {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      env: { ...process.env, ...options.env },
    });
    const server = new BrokerProcess(child, `${command} on port ${port}`);
    const deadline = Date.now() + within;
    while (!(await reachable(port, 200))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${server.what} did not start:\n${server.output.slice(-2000)}`);
      }
      await sleep(50);
    }
    return server;
  }

  /** Sends `signal` (SIGTERM: a graceful shutdown) and waits for the exit; SIGKILL after `within` ms. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', within = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), within);
    await this.ended;
    clearTimeout(timer);
  }
}
