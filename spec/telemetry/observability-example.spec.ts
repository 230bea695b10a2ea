import { expect } from 'chai';
import { runExample } from '../support/run-example.js';

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly trace_id?: string;
  readonly transaction_id?: string;
}

describe('examples/observability.ts', () => {
  it('prints JSON logs carrying the trace ids of the span tree it prints, and no span of the untraced task', function () {
    this.timeout(60_000);
    const run = runExample('observability.ts');
    expect(run.status, run.stderr).to.equal(0);
    const logs = run.lines
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
    const tree = run.lines.slice(run.lines.findIndex((line) => line.startsWith('spans (')));
    expect(tree.length, run.stdout).to.be.greaterThan(1);

    const charged = logs.filter((line) => line.message.startsWith('charged order'));
    expect(charged.map((line) => line.message).sort()).to.deep.equal([
      'charged order 1',
      'charged order 2',
      'charged order 3',
    ]);
    for (const line of charged) {
      expect(line.transaction_id).to.be.a('string');
      const traceId = line.trace_id ?? '';
      expect(traceId).to.match(/^[0-9a-f]{32}$/);
      expect(
        tree.some(
          (span) =>
            span.startsWith('  process charge-orders') &&
            span.endsWith(` trace=${traceId.slice(0, 8)}`),
        ),
        `the span tree holds the transaction span of trace ${traceId}`,
      ).to.equal(true);
    }
    // The failed first attempt of order 2 and its retry.
    expect(
      tree.some((span) =>
        /process attempt .*ERROR .*ergon\.attempt=1 error\.type=Error/.test(span),
      ),
    ).to.equal(true);
    expect(tree.some((span) => /process attempt .*ergon\.attempt=2 /.test(span))).to.equal(true);
    expect(
      // Warnings go to stderr, like console.warn.
      run.stderr.includes(
        '"level":"WARN","logger":"shop.payments","message":"charge failed, will retry"',
      ),
    ).to.equal(true);
    // The hot task logs with transaction ids, without spans.
    const tick = logs.find((line) => line.message === 'tick 999');
    expect(tick?.transaction_id).to.be.a('string');
    expect(tick?.trace_id).to.equal(undefined);
    expect(tree.some((span) => span.includes('count-ticks'))).to.equal(false);
  });
});
