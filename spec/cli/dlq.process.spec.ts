import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import { consume, consumerTask, createTransaction } from '../../lib/index.js';
import { PostgresConnector } from '../../lib/connectors/postgres/index.js';
import { requireService, uniqueName } from '../support/real-service.js';
import { dropQueue, queuedIds, testUrl } from '../connectors/postgres/fixtures/queue-fixture.js';
import { jsonLines, runErgon } from './support/run-ergon.js';

const fixture = 'spec/cli/fixtures/dlq-task.ts';
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('ergon dlq in a child process (real PostgreSQL)', function () {
  this.timeout(60_000);
  const table = uniqueName('ergon_cli_dlq');
  let previous: string | undefined;

  before(async function () {
    await requireService(this, 'postgres');
    previous = process.env['ERGON_DLQ_TABLE'];
    process.env['ERGON_DLQ_TABLE'] = table;
    const connector = new PostgresConnector({ connection: { url: testUrl }, table, fetchWait: 50 });
    try {
      await connector.migrate();
      await connector.dispatch(
        ['dl-0', 'dl-1', 'dl-2'].map((id, n) =>
          createTransaction({ n }, { id, metadata: { traceparent } }),
        ),
      );
      const failing = consumerTask({
        process: (tx) => {
          throw new Error(`cannot ship ${tx.id}`);
        },
      });
      await lastValueFrom(consume(connector, failing, { loop: { limit: 3 } }).pipe(toArray()));
    } finally {
      await connector.close();
    }
  });

  after(async () => {
    if (previous === undefined) delete process.env['ERGON_DLQ_TABLE'];
    else process.env['ERGON_DLQ_TABLE'] = previous;
    await dropQueue(table);
  });

  it('list prints id, error, stage, time and delivery count; --filter and --limit narrow it', async () => {
    const listed = await runErgon(['dlq', 'list', fixture, '--json']);
    expect(listed.code, listed.stderr).to.equal(0);
    const letters = jsonLines(listed.stdout);
    expect(letters.map((letter) => letter['id']).sort()).to.deep.equal(['dl-0', 'dl-1', 'dl-2']);
    for (const letter of letters) {
      expect(letter['error']).to.contain(`cannot ship ${String(letter['id'])}`);
      expect(letter).to.include({ stage: 'process', deliveryCount: 1, traceparent });
      expect(Date.parse(String(letter['deadLetteredAt']))).to.be.greaterThan(0);
    }
    const filtered = await runErgon(['dlq', 'list', fixture, '--filter', 'ship dl-1']);
    expect(filtered.stdout.trim().split('\t')[0]).to.equal('dl-1');
    expect(filtered.stdout).to.contain('deliveries 1').and.contain('stage process');
    const limited = await runErgon(['dlq', 'list', fixture, '--limit', '2', '--since', '1h']);
    expect(limited.stdout.trim().split('\n')).to.have.length(2);
  });

  it('show prints one dead letter, and exits 1 for an id that is not dead-lettered', async () => {
    const shown = await runErgon(['dlq', 'show', fixture, 'dl-2']);
    expect(shown.code).to.equal(0);
    expect(jsonLines(shown.stdout)[0]).to.include({ id: 'dl-2', reason: 'failed' });
    const missing = await runErgon(['dlq', 'show', fixture, 'nope']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('no dead letter of transaction "nope"');
  });

  it('refuses a purge without a selection, and a connector without dead letters (exit 2)', async () => {
    const purge = await runErgon(['dlq', 'purge', fixture]);
    expect(purge.code).to.equal(2);
    expect(purge.stderr).to.contain('--all');
    const plain = await runErgon(['dlq', 'list', fixture, '--connector', 'plain']);
    expect(plain.code).to.equal(2);
    expect(plain.stderr).to.contain('connector "plain"').and.contain('deadLetters()');
    const since = await runErgon(['dlq', 'list', fixture, '--since', 'yesterday']);
    expect(since.code).to.equal(2);
    expect(since.stderr).to.contain('--since expects');
  });

  it('two concurrent redrives send each dead letter back once; purge --all then finds none', async () => {
    const [a, b] = await Promise.all([
      runErgon(['dlq', 'redrive', fixture]),
      runErgon(['dlq', 'redrive', fixture]),
    ]);
    expect(a.code, a.stderr).to.equal(0);
    expect(b.code, b.stderr).to.equal(0);
    const redriven = [a, b].flatMap((run) => jsonLines(run.stdout)[0]?.['redriven'] as string[]);
    expect(redriven.sort()).to.deep.equal(['dl-0', 'dl-1', 'dl-2']);
    expect(await queuedIds(table)).to.deep.equal(['dl-0', 'dl-1', 'dl-2']);
    const purged = await runErgon(['dlq', 'purge', fixture, '--all']);
    expect(jsonLines(purged.stdout)[0]).to.deep.equal({ purged: [] });
  });
});
