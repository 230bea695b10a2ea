import type { ScalingRun } from '../contenders/scaling.js';
import type * as scalingContenders from '../contenders/scaling.js';
import { contendersOf } from './contender-ref.js';
import { formatCpu, formatRate, formatRatio } from './number-format.js';
import { extraOf, measureRepeatedly } from './repeated-measurement.js';
import { scaled, type Scenario } from './scenario.js';

const scaling = contendersOf<typeof scalingContenders>('contenders/scaling.js');
const workerCounts = [1, 2, 4] as const;
const brokers = { rabbitmq: 'RabbitMQ', postgres: 'PostgreSQL' } as const;
const label = (broker: ScalingRun['broker'], workers: number): string =>
  `${brokers[broker]}, ${String(workers)} worker${workers === 1 ? '' : 's'}`;

/** Scenario 11: worker processes sharing one queue. */
export const workerScaling: Scenario = {
  id: 'scaling',
  title: 'Worker processes on one queue',
  description: (options) =>
    `One queue filled before the clock starts (RabbitMQ: ${scaled(40_000, options).toLocaleString('en-US')} persistent messages in a classic durable queue; PostgreSQL: ${scaled(20_000, options).toLocaleString('en-US')} rows of a PostgresConnector queue), then 1, 2 or 4 worker processes, each running \`consume\` in continuous mode at concurrency 100 (RabbitMQ prefetch 100; PostgreSQL pool of 4 per worker) with a no-op handler, drain it together. The clock runs from telling the loaded workers to go (connecting is timed) to the moment their reported successes add up to the count. CPU µs/msg is the workers' CPU (not the brokers'). The brokers run on the same two cores as the workers.`,
  run: async (options) => {
    const runs: Record<string, ReturnType<typeof scaling>> = {};
    for (const broker of ['rabbitmq', 'postgres'] as const) {
      for (const workers of workerCounts) {
        runs[label(broker, workers)] = scaling('scalingWorkers', {
          broker,
          workers,
          count: scaled(broker === 'rabbitmq' ? 40_000 : 20_000, options),
          concurrency: 100,
        });
      }
    }
    const summaries = await measureRepeatedly(runs, options.repeats, 240_000);
    const rows = (['rabbitmq', 'postgres'] as const).flatMap((broker) => {
      const one = summaries.get(label(broker, 1)).throughput.median;
      return workerCounts.map((workers) => {
        const summary = summaries.get(label(broker, workers));
        return [
          label(broker, workers),
          formatRate(summary.throughput),
          formatCpu(extraOf(summary, 'workerCpu')),
          formatRatio(summary.throughput.median / one),
        ];
      });
    });
    return {
      tables: [
        {
          headers: [
            'queue, workers',
            'msgs/s median (min–max)',
            "workers' CPU µs/msg",
            '× 1 worker',
          ],
          align: ['left', 'right', 'right', 'right'],
          rows,
        },
      ],
      targets: [],
    };
  },
};
