import { expect } from 'chai';
import { runErgon, type ErgonResult } from './support/run-ergon.js';

const fixture = 'spec/cli/fixtures/policy-typo-task.ts';
const issue = 'loop.concurency: expected no such key (did you mean "concurrency"?)';

describe('a misspelled policy key under every ergon command (child processes)', function () {
  this.timeout(60_000);

  // Started together: each is a cold Node process with tsx.
  let runs: Readonly<Record<string, Promise<ErgonResult>>>;
  before(() => {
    runs = {
      run: runErgon(['run', fixture]),
      process: runErgon(['process', fixture, 'consume', '--payload', '1']),
      'process-by-id': runErgon(['process-by-id', fixture, 'consume', 'any-id']),
    };
  });

  for (const command of ['run', 'process', 'process-by-id']) {
    it(`ergon ${command}: exit 2, the message once, no stack`, async () => {
      const { code, stdout, stderr } = await runs[command]!;
      const output = `${stdout}${stderr}`;
      expect(code, output).to.equal(2);
      expect(output.split(issue), output).to.have.length(2);
      expect(output, output).not.to.match(/^\s+at /m);
    });
  }
});
