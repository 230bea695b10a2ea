import { expect } from 'chai';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { lastValueFrom } from 'rxjs';
import { createTransaction, type Logger, type Transaction } from '../../../lib/index.js';
import { SqsConnector } from '../../../lib/connectors/sqs/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import {
  adminClient,
  deleteQueues,
  fetchAll,
  messagesIn,
  numbered,
  sqsConnection,
} from './fixtures/sqs-spec-support.js';

// The limits of SQS scheduling (docs/scheduling.md): DelaySeconds holds a message at most
// 15 min, FIFO queues have no per-message delay, and a visibility timeout hides a received
// message at most 12 h. The common promises are in spec/connectors/durable-delays.spec.ts.

type Payload = { n: number };

describe('SqsConnector scheduling limits (real ElasticMQ)', function () {
  this.timeout(20_000);
  let admin: SQSClient;
  const queues: string[] = [];
  const connectors: SqsConnector<Payload>[] = [];

  function connectorFor(queue: string, logger?: Logger): SqsConnector<Payload> {
    queues.push(queue, queue.endsWith('.fifo') ? `${queue.slice(0, -5)}-dlq.fifo` : `${queue}-dlq`);
    const connector = new SqsConnector<Payload>(
      { connection: sqsConnection, queue, fetchWait: '1s' },
      undefined,
      logger === undefined ? {} : { logger },
    );
    connectors.push(connector);
    return connector;
  }

  before(async function () {
    await requireService(this, 'elasticmq');
    admin = adminClient();
  });

  after(async () => {
    await Promise.all(connectors.map((connector) => connector.close()));
    if (admin === undefined) return;
    await deleteQueues(admin, queues);
    admin.destroy();
  });

  it('a notBefore more than 15 min ahead fails that transaction with a ScheduleError naming the limit', async () => {
    const connector = connectorFor(uniqueName('ergon_sqs_sched'));
    const far = createTransaction<Payload>(
      { n: 1 },
      { id: 'far', metadata: { notBefore: new Date(Date.now() + 16 * 60_000) } },
    );
    const near = createTransaction<Payload>(
      { n: 2 },
      { id: 'near', metadata: { notBefore: new Date(Date.now() + 14 * 60_000) } },
    );
    const report = await connector.dispatch([far, near]);
    expect(report.failed.map((f) => [f.transaction.id, (f.error as Error).name])).to.deep.equal([
      ['far', 'ScheduleError'],
    ]);
    expect((report.failed[0]?.error as Error).message).to.match(/at most 900 s \(15 min\)/);
    // The near one waits in the queue, delayed: not receivable now.
    expect(await messagesIn(admin, connector.destination)).to.equal(1);
    expect(await lastValueFrom(connector.count())).to.equal(0);
  });

  it('a FIFO queue refuses a future notBefore (no per-message delay), and sends the others', async () => {
    const connector = connectorFor(`${uniqueName('ergon_sqs_sched')}.fifo`);
    const later = createTransaction<Payload>(
      { n: 1 },
      { id: 'later', metadata: { notBefore: new Date(Date.now() + 5000) } },
    );
    const report = await connector.dispatch([later, ...numbered('now', 1)]);
    expect(report.failed.map((f) => [f.transaction.id, (f.error as Error).name])).to.deep.equal([
      ['later', 'ScheduleError'],
    ]);
    expect((report.failed[0]?.error as Error).message).to.match(
      /FIFO queue .* no per-message delay/,
    );
    expect((await fetchAll(connector, 10)).map((tx) => tx.id)).to.deep.equal(['now-0']);
  });

  it('a retry-later longer than 12 h hides the message for what is left of the 12 h, and says so', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (message: unknown) => void warnings.push(String(message)),
      error: () => undefined,
    };
    const connector = connectorFor(uniqueName('ergon_sqs_sched'), logger);
    await connector.dispatch(numbered('long', 1));
    const [tx] = await fetchAll(connector, 1);
    await connector.settle(tx as Transaction<Payload>, {
      type: 'release',
      reason: 'retryLater',
      delay: 13 * 3_600_000,
    });
    expect(warnings).to.have.length(1);
    expect(warnings[0], warnings[0]).to.match(
      /long-0 was to be retried in 46800 s.*comes back in (4319\d|43200) s/,
    );
    // Hidden, not lost: still in the queue, not receivable.
    expect(await messagesIn(admin, connector.destination)).to.equal(1);
    expect(await fetchAll(connector, 1)).to.deep.equal([]);
  });
});
