import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { runErgon } from '../cli/support/run-ergon.js';
import { SECRET } from './fixtures/secret-task.js';
import { runNode, type NodeResult } from './support/run-node.js';

const runExport = fileURLToPath(new URL('./fixtures/run-export.ts', import.meta.url));
const fixture = 'spec/telemetry/fixtures/secret-task.ts';

/** Every byte a failing run printed, checked for the secret and for proof it was masked. */
function expectMasked(result: NodeResult, masked: readonly string[]): void {
  const output = `${result.stdout}\n${result.stderr}`;
  expect(output, output).not.to.include(SECRET);
  for (const text of masked) expect(output, output).to.include(text);
}

describe('credentials in the output of a failing run (child processes)', function () {
  this.timeout(60_000);

  // Started together: each is a cold Node process with tsx.
  let runs: Readonly<Record<string, Promise<NodeResult>>>;
  before(() => {
    runs = {
      plain: runNode([runExport, fixture, 'plain']),
      telemetry: runNode([runExport, fixture, 'telemetry']),
      otlpHeaders: runNode([runExport, fixture, 'otlpHeaders']),
      cliRun: runErgon(['run', `${fixture}#plain`]),
      cliList: runErgon(['list', fixture]),
    };
  });

  const connectionFailure = 'cannot connect to NATS at 127.0.0.1:1';
  const badUrls = [
    'redis://ergon:***@127.0.0.1:6379',
    'postgres://ergon:***@127.0.0.1/test',
    'amqp://ergon:***@127.0.0.1:5672/',
    'nats://ergon:***@127.0.0.1:4222',
  ];

  it('masks them in plain logs, errors, stacks and causes (no telemetry)', async () => {
    const result = await runs['plain']!;
    expect(result.code).to.equal(1);
    expectMasked(result, [connectionFailure, ...badUrls]);
  });

  it('masks them in JSON log records and in the spans a console exporter prints', async () => {
    const result = await runs['telemetry']!;
    expect(result.code).to.equal(1);
    expectMasked(result, [connectionFailure, ...badUrls, 'exception.stacktrace']);
  });

  it('never shows an OTLP header value in the configuration error', async () => {
    const result = await runs['otlpHeaders']!;
    expect(result.code).to.equal(2);
    expectMasked(result, ['headers: expected object of strings, got {"authorization":"***"']);
  });

  it('masks them in what `ergon run` prints, progress included', async () => {
    const result = await runs['cliRun']!;
    expect(result.code).to.equal(1);
    expectMasked(result, [connectionFailure, ...badUrls, '"type":"summary"']);
  });

  it('masks them in what `ergon list` prints', async () => {
    const result = await runs['cliList']!;
    expect(result.code).to.equal(0);
    expectMasked(result, ['name secret-plain']);
  });
});
