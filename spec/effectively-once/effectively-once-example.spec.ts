import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { requireService } from '../support/real-service.js';

const example = fileURLToPath(new URL('../../examples/effectively-once.ts', import.meta.url));

describe('examples/effectively-once.ts (real RabbitMQ and PostgreSQL)', () => {
  before(async function () {
    await requireService(this, 'rabbitmq');
    await requireService(this, 'postgres');
  });

  it('writes and ships each order once although one was delivered twice', function () {
    this.timeout(90_000);
    const run = spawnSync(process.execPath, ['--import', 'tsx', example, '30'], {
      encoding: 'utf8',
      timeout: 80_000,
    });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.include('30 orders, 31 deliveries');
    expect(run.stdout).to.include('order rows written: 30');
    expect(run.stdout).to.match(/shipments published: 3\d, distinct ids: 30/);
  });
});
