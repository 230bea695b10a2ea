import type * as transactionalAckContenders from '../contenders/transactional-ack.js';
import type { TransactionalAckRun } from '../contenders/transactional-ack.js';
import { contendersOf } from './contender-ref.js';
import { measureRepeatedly } from './repeated-measurement.js';
import { scaled, type Scenario } from './scenario.js';
import { throughputTable } from './throughput-cells.js';

const pipeline = contendersOf<typeof transactionalAckContenders>('contenders/transactional-ack.js');
const plain = 'plain ack (write on the pool, acks batched)';
const transactional = 'transactional ack (write and ack in one database transaction)';

/** What effectively-once costs on the PostgreSQL queue (issue #21). */
export const transactionalAck: Scenario = {
  id: 'transactional-ack',
  title: 'PostgreSQL queue: transactional vs plain ack',
  description: (options) =>
    `${scaled(10_000, options).toLocaleString('en-US')} rows in a PostgreSQL queue table (inserted before the clock starts) consumed in continuous mode at concurrency 16 (pool of 24 connections), each transaction inserting one row into an effects table: the plain ack (the INSERT on the pool, then the connector's ack, batched with the acks of the same moment) against \`transactional(queue)\` (the INSERT through \`ctx.db\` and the ack in the same database transaction: BEGIN, SAVEPOINT, INSERT, RELEASE, DELETE, COMMIT). The clock runs from the start of the loop to its last outcome.`,
  run: async (options) => {
    const base: TransactionalAckRun = {
      count: scaled(10_000, options),
      concurrency: 16,
      poolSize: 24,
      settle: 'plain',
    };
    const summaries = await measureRepeatedly(
      {
        [plain]: pipeline('ergonTransactionalAck', base),
        [transactional]: pipeline('ergonTransactionalAck', { ...base, settle: 'transactional' }),
      },
      options.repeats,
      240_000,
    );
    return {
      tables: [throughputTable(summaries, { '× plain ack': plain })],
      targets: [],
    };
  },
};
