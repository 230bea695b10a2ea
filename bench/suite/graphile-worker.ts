import type { QueueDrainRun } from '../contenders/graphile-worker.js';
import type * as drainContenders from '../contenders/graphile-worker.js';
import { ratioTarget } from './broker-scenario.js';
import { contendersOf } from './contender-ref.js';
import { measureRepeatedly } from './repeated-measurement.js';
import { scaled, type Scenario } from './scenario.js';
import { throughputTable } from './throughput-cells.js';

const drain = contendersOf<typeof drainContenders>('contenders/graphile-worker.js');
const ergonEach = 'ergon-rx process (one per call)';
const ergonBatch = 'ergon-rx processBatch (500 per call)';
const workerEach = 'graphile-worker unbatched';
const workerBatch = 'graphile-worker batched (localQueue 500)';

/** Scenario 10: a PostgreSQL queue drained, against graphile-worker in its own test's shape. */
export const graphileWorkerDrain: Scenario = {
  id: 'graphile-worker',
  title: 'PostgreSQL queue vs graphile-worker',
  description: (options) =>
    `graphile-worker's own performance test on the same PostgreSQL: ${scaled(20_000, options).toLocaleString('en-US')} jobs added in bulk before the clock starts (1,000 per statement, not timed), then workers run a no-op task on all of them; the clock runs from the start of the workers to the last completion. graphile-worker 0.17.3 (the last line for Node 20) with concurrency 24 and a pool of 25, unbatched (each worker locks and completes its own job) or batched (\`localQueue: { size: 500 }\`, \`completeJobBatchDelay: 0\`, as in its published numbers). ergon-rx: the PostgresConnector queue (pool of 4) filled by \`dispatch\`, drained by \`consume\` in continuous mode with \`process\` at concurrency 24, or \`processBatch\` of up to 500 (maxWait 5 ms) at concurrency 1,000 (one batch filling while one runs).`,
  run: async (options) => {
    const count = scaled(20_000, options);
    const each: QueueDrainRun = { count, concurrency: 24, batch: null };
    const batched: QueueDrainRun = { count, concurrency: 24, batch: 500 };
    const summaries = await measureRepeatedly(
      {
        [ergonEach]: drain('ergonQueueDrain', each),
        [workerEach]: drain('graphileWorker', each),
        [ergonBatch]: drain('ergonQueueDrain', batched),
        [workerBatch]: drain('graphileWorker', batched),
      },
      options.repeats,
      240_000,
    );
    return {
      tables: [
        throughputTable(summaries, { '× unbatched': workerEach, '× batched': workerBatch }, 'job'),
      ],
      targets: [
        ratioTarget(
          summaries,
          ergonEach,
          workerEach,
          1,
          'PostgreSQL queue, one job per call ≥ graphile-worker unbatched',
        ),
        ratioTarget(
          summaries,
          ergonBatch,
          workerBatch,
          1,
          'PostgreSQL queue, processBatch ≥ graphile-worker batched (localQueue)',
        ),
      ],
    };
  },
};
