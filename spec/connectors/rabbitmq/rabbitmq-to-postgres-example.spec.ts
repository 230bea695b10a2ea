import { expect } from 'chai';
import { requireService } from '../../support/real-service.js';
import { runExample } from '../../support/run-example.js';

describe('examples/rabbitmq-to-postgres.ts (real RabbitMQ and PostgreSQL)', () => {
  before(async function () {
    await requireService(this, 'rabbitmq');
    await requireService(this, 'postgres');
  });

  it('prices and ships every order through both brokers, one trace from RabbitMQ to stage 2', function () {
    this.timeout(60_000);
    const run = runExample('rabbitmq-to-postgres.ts', ['30']);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.lines[0]).to.equal('30 orders priced and shipped; 60 outcomes over both stages');
    const trace = run.lines.slice(
      run.lines.findIndex((line) => line.startsWith("one order's trace")) + 1,
    );
    expect(trace[0]).to.equal('  process price-orders');
    const names = trace.map((line) => line.trim());
    expect(names).to.include.members(['send dispatcher', 'process ship-orders']);
    const depth = (name: string): number =>
      trace.find((line) => line.trim() === name)?.search(/\S/) ?? -1;
    expect(
      depth('process ship-orders'),
      'stage 2 continues the trace below the send',
    ).to.be.greaterThan(depth('process price-orders'));
  });
});
