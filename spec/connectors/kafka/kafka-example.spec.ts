import { expect } from 'chai';
import { childEnvironment } from '../../support/quiet-logs.js';
import { requireService } from '../../support/real-service.js';
import { runExample } from '../../support/run-example.js';

describe('examples/kafka-orders.ts (real Kafka)', () => {
  before(async function () {
    await requireService(this, 'kafka');
  });

  it('applies every customer’s events in order and dead-letters the poisoned one, then exits', function () {
    this.timeout(60_000);
    const run = runExample('kafka-orders.ts', [], { env: childEnvironment(), timeout: 50_000 });
    expect(run.status, run.stderr).to.equal(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^dispatched 15 events to example-orders-/);
    expect(lines.filter((line) => line.endsWith(': created → paid → shipped'))).to.have.length(4);
    expect(lines).to.include('ken: created → shipped');
    expect(
      lines.filter((line) =>
        / dead-lettered to example-orders-.*\.dead: .*card declined$/.test(line),
      ),
    ).to.have.length(1);
    expect(lines.at(-1)).to.equal('every customer in order: true');
  });
});
