import { expect } from 'chai';
import { requireService } from '../../support/real-service.js';
import { runExample } from '../../support/run-example.js';

describe('examples/partitioned-rabbitmq.ts (real RabbitMQ)', () => {
  before(async function () {
    await requireService(this, 'rabbitmq');
  });

  it('two workers apply disjoint partitions, every account by one worker and in order', function () {
    this.timeout(90_000);
    const run = runExample('partitioned-rabbitmq.ts', [], { timeout: 80_000 });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.include('dispatched 80 events');
    const lines = [
      ...run.stdout.matchAll(
        /^worker (\d) \(partitions ([\d, ]+)\): ([a-z, ]*);.*every account in order: (\w+)$/gm,
      ),
    ];
    expect(lines, run.stdout).to.have.length(2);
    const partitions = lines.flatMap((line) => (line[2] ?? '').split(', ')).sort();
    expect(partitions).to.deep.equal(['0', '1', '2', '3']);
    const accounts = lines.flatMap((line) => (line[3] ?? '').split(', ').filter(Boolean)).sort();
    expect(accounts, `each account applied by exactly one worker:\n${run.stdout}`).to.deep.equal([
      'ada',
      'barbara',
      'edsger',
      'frances',
      'grace',
      'ken',
      'linus',
      'margaret',
    ]);
    expect(lines.map((line) => line[4])).to.deep.equal(['true', 'true']);
  });
});
