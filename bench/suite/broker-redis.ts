import { brokerScenario, ratioTarget } from './broker-scenario.js';
import { contendersOf } from './contender-ref.js';
import type * as redisContenders from '../contenders/redis.js';

const redis = contendersOf<typeof redisContenders>('contenders/redis.js');

/** Scenario 6a: Redis Streams connector against raw ioredis and BullMQ on the same Redis. */
export const brokerRedis = brokerScenario({
  id: 'redis',
  title: 'Brokers: Redis Streams vs BullMQ',
  contenders:
    'ergon-rx: `dispatchTo(RedisConnector)` (pipelined XADDs) and `consume` of the same stream (XREADGROUP, one XACK per settled batch). Raw ioredis: pipelines of XADDs; XREADGROUP, JSON.parse, handler, XACK per read. BullMQ: `Queue.addBulk` and a `Worker` at the same concurrency, jobs removed on completion.',
  run: { count: 20_000, concurrency: 100, dispatchBatch: 500 },
  refs: (run, warmup) => ({
    'ergon-rx continuous': redis(
      'ergonRedis',
      { ...run, mode: 'continuous' },
      { warmup: { ...warmup, mode: 'continuous' } },
    ),
    'ergon-rx batch': redis(
      'ergonRedis',
      { ...run, mode: 'batch' },
      { warmup: { ...warmup, mode: 'batch' } },
    ),
    'raw ioredis': redis('rawRedis', run, { warmup }),
    BullMQ: redis('bullmq', run, { warmup }),
  }),
  baselines: ['raw ioredis', 'BullMQ'],
  targets: (summaries) =>
    (['continuous', 'batch'] as const).map((mode) =>
      ratioTarget(
        summaries,
        `ergon-rx ${mode}`,
        'BullMQ',
        1,
        `Redis Streams connector (${mode}) ≥ BullMQ on the same Redis`,
      ),
    ),
});
