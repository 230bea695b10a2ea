import { brokerScenario } from './broker-scenario.js';
import { contendersOf } from './contender-ref.js';
import type * as postgresContenders from '../contenders/postgres.js';

const postgres = contendersOf<typeof postgresContenders>('contenders/postgres.js');

/** Scenario 6b: PostgreSQL connector against pg-boss on the same server. */
export const brokerPostgres = brokerScenario({
  id: 'postgres',
  title: 'Brokers: PostgreSQL vs pg-boss',
  contenders:
    'ergon-rx: `dispatchTo(PostgresConnector)` (multi-row INSERT) and `consume` (claim with `FOR UPDATE SKIP LOCKED`, woken by LISTEN/NOTIFY, DELETE on ack), pool of 4 per connector. pg-boss 10.4 (the last line for Node 20), pool of 4: `insert` of each batch; a loop of `fetch({ batchSize })`, handler, `complete` of the batch, with no pause (its `work()` polls at most every 0.5 s after a fetch, which would cap it at one batch per half second).',
  run: { count: 10_000, concurrency: 100, dispatchBatch: 500 },
  refs: (run, warmup) => ({
    'ergon-rx continuous': postgres(
      'ergonPostgres',
      { ...run, mode: 'continuous' },
      { warmup: { ...warmup, mode: 'continuous' } },
    ),
    'ergon-rx batch': postgres(
      'ergonPostgres',
      { ...run, mode: 'batch' },
      { warmup: { ...warmup, mode: 'batch' } },
    ),
    'pg-boss': postgres('pgBoss', run, { warmup }),
  }),
  baselines: ['pg-boss'],
  targets: () => [],
});
