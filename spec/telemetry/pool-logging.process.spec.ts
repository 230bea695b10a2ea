import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { LINES } from './fixtures/pool-logging-task.js';
import { runNode, type NodeResult } from './support/run-node.js';

const runExport = fileURLToPath(new URL('./fixtures/run-export.ts', import.meta.url));
const fixture = 'spec/telemetry/fixtures/pool-logging-task.ts';

describe('logging of a worker pool (child processes)', function () {
  this.timeout(90_000);

  let folder: string;
  let result: NodeResult;
  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'ergon-pool-logs-'));
    result = await runNode([runExport, fixture, 'pooled'], {
      LOG_PATH: join(folder, 'app.log'),
      OTEL_LOGS_EXPORTER: '',
    });
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  /** The messages of every JSON line in the files of `writer` (`app.<writer>.log*`). */
  function messagesOf(writer: string): string[] {
    const files = readdirSync(folder).filter((name) => name.startsWith(`app.${writer}.log`));
    return files.flatMap((name) =>
      readFileSync(join(folder, name), 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => (JSON.parse(line) as { message: string }).message),
    );
  }

  it('gives each worker its own rotating file, and loses no line across rotations', () => {
    expect(result.code, result.stderr).to.equal(0);
    for (const worker of [1, 2, 3]) {
      const lines = messagesOf(`worker-${worker}`).filter((message) =>
        message.endsWith(`of worker ${worker}`),
      );
      expect(new Set(lines).size, `worker ${worker}`).to.equal(LINES);
      expect(lines, `worker ${worker}`).to.have.length(LINES);
    }
    const rotated = readdirSync(folder).filter((name) => /^app\.worker-1\.log\.\d+$/.test(name));
    expect(rotated.length, 'worker 1 rotated').to.be.greaterThan(2);
  });

  it('makes the primary log as the task says: JSON lines, info included (the health port)', () => {
    const lines = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line !== '');
    const records = lines.map((line) => {
      expect(() => JSON.parse(line) as unknown, line).not.to.throw();
      return JSON.parse(line) as { message: string; level: string };
    });
    expect(
      records.some((r) => /^health endpoints on http:\/\/127\.0\.0\.1:\d+ /.test(r.message)),
    ).to.equal(true);
    expect(records.some((r) => r.message.startsWith('worker 3 forked'))).to.equal(true);
    expect(messagesOf('primary').some((m) => m.startsWith('health endpoints on http://'))).to.equal(
      true,
    );
  });
});
