import type { BatchInsertRun } from '../contenders/batch-insert.js';
import type * as batchInsertContenders from '../contenders/batch-insert.js';
import { contendersOf } from './contender-ref.js';
import { measureRepeatedly } from './repeated-measurement.js';
import { ratioTarget } from './broker-scenario.js';
import { scaled, type Scenario } from './scenario.js';
import { throughputTable } from './throughput-cells.js';

const pipeline = contendersOf<typeof batchInsertContenders>('contenders/batch-insert.js');
const perTransaction = 'process: one INSERT per transaction';
const batched = 'processBatch: one multi-row INSERT per batch of 200';
/** Issue #18: batch handlers at least this many times the per-transaction pipeline. */
const batchTarget = 5;

/** Scenario 9: what batch handlers buy on a database sink. */
export const batchInsert: Scenario = {
  id: 'batch-insert',
  title: 'Batch handlers: RabbitMQ → PostgreSQL',
  description: (options) =>
    `${scaled(20_000, options).toLocaleString('en-US')} messages in a RabbitMQ queue (filled before the clock starts) consumed in continuous mode at concurrency 800 (prefetch 800), each written as a row of a PostgreSQL table (pool of 4 connections) and acked once written: \`process\` with one INSERT per transaction against \`processBatch\` with one multi-row INSERT (\`unnest\` of column arrays) per batch of up to 200 (maxWait 5 ms). The clock runs from the start of the loop to its last outcome.`,
  run: async (options) => {
    const base: BatchInsertRun = {
      count: scaled(20_000, options),
      concurrency: 800,
      poolSize: 4,
      write: 'per-transaction',
    };
    const summaries = await measureRepeatedly(
      {
        [perTransaction]: pipeline('ergonBatchInsert', base),
        [batched]: pipeline('ergonBatchInsert', {
          ...base,
          write: { batch: 200, maxWait: 5 },
        }),
      },
      options.repeats,
      240_000,
    );
    return {
      tables: [throughputTable(summaries, { '× per-transaction': perTransaction })],
      targets: [
        ratioTarget(
          summaries,
          batched,
          perTransaction,
          batchTarget,
          `processBatch (multi-row INSERT) ≥ ${batchTarget}× process (INSERT each), RabbitMQ → PostgreSQL`,
        ),
      ],
    };
  },
};
