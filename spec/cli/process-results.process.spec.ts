import { expect } from 'chai';
import { jsonLines, runErgon, type ErgonResult } from './support/run-ergon.js';

const fixture = 'spec/cli/fixtures/odd-results-task.ts';

describe('ergon process with results JSON cannot print (child processes)', function () {
  this.timeout(60_000);

  // Started together: each is a cold Node process with tsx.
  let runs: Readonly<Record<string, Promise<ErgonResult>>>;
  before(() => {
    const process = (kind: string) =>
      runErgon(['process', fixture, 'once', '--payload', JSON.stringify(kind), '--id', kind]);
    runs = { bigint: process('bigint'), circular: process('circular'), toJSON: process('toJSON') };
  });

  it('prints the outcome of a BigInt result, exit 0', async () => {
    const { code, stdout, stderr } = await runs['bigint']!;
    expect(code, stderr).to.equal(0);
    expect(jsonLines(stdout)).to.deep.equal([
      { status: 'success', transactionId: 'bigint', result: { total: '12345678901234567890' } },
    ]);
  });

  it('prints the outcome of a circular result, exit 0', async () => {
    const { code, stdout, stderr } = await runs['circular']!;
    expect(code, stderr).to.equal(0);
    expect(jsonLines(stdout)).to.deep.equal([
      {
        status: 'success',
        transactionId: 'circular',
        result: { name: 'root', self: '[Circular]' },
      },
    ]);
  });

  it('prints the outcome of a result whose toJSON throws, exit 0', async () => {
    const { code, stdout, stderr } = await runs['toJSON']!;
    expect(code, stderr).to.equal(0);
    expect(jsonLines(stdout)).to.deep.equal([
      { status: 'success', transactionId: 'toJSON', result: 'unserializable: [object Object]' },
    ]);
  });
});
