import { expect } from 'chai';
import { runExample } from '../support/run-example.js';

describe('examples/streaming-consumer.ts', () => {
  it('stores readings while they arrive, stops after 3 s and settles each one it stored', function () {
    this.timeout(60_000);
    const run = runExample('streaming-consumer.ts');
    expect(run.status, run.stderr).to.equal(0);
    const stored = run.lines.filter((line) => /^stored s\d@\d+\.\d$/.test(line));
    const summary =
      /^stopped; settlements: \{ ack: (\d+), deadLetter: 0, release: 0 \} left in the queue: (\d+)$/.exec(
        run.lines.at(-1) ?? '',
      );
    expect(summary, run.stdout).to.not.equal(null);
    const [acked, left] = [Number(summary?.[1]), Number(summary?.[2])];
    expect(stored.length, 'one line per stored reading').to.equal(acked);
    expect(new Set(stored).size, 'no reading stored twice').to.equal(stored.length);
    // The producer feeds 5 readings every 200 ms for 4 s; the stop at 3 s leaves the rest queued.
    expect(acked + left).to.be.within(10, 100);
    expect(acked).to.be.greaterThan(0);
    expect(left).to.be.greaterThan(0);
  });
});
