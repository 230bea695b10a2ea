import { spawn } from 'node:child_process';
import { childEnvironment } from '../support/quiet-logs.js';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const runExport = fileURLToPath(new URL('./fixtures/run-export.ts', import.meta.url));
const fixture = 'spec/telemetry/fixtures/telemetry-task.ts';

/** A "collector" that accepts connections and never answers (a hung or blackholed one). */
function silentCollector(): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : 0, sockets });
    }),
  );
}

describe('telemetry shutdown with a collector that does not answer (child process)', function () {
  this.timeout(60_000);

  it('ends the process within the grace (1 s) after SIGTERM, not when the exports time out', async () => {
    const collector = await silentCollector();
    try {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', runExport, fixture, 'unreachableCollector'],
        {
          env: { ...childEnvironment(), COLLECTOR: `http://127.0.0.1:${collector.port}` },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      await new Promise<void>((resolve) => {
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes('READY')) resolve();
        });
      });
      const stoppedAt = Date.now();
      child.kill('SIGTERM');
      const code = await exited;
      const took = Date.now() - stoppedAt;
      expect(code, stderr).to.equal(143);
      // Grace 1 s, then the abandoned exports; it used to take about 20 s.
      expect(took, stderr).to.be.below(4_000);
      expect(stderr).to.include('telemetry shutdown abandoned');
    } finally {
      for (const socket of collector.sockets) socket.destroy();
      collector.server.close();
    }
  });
});
