import type * as kafkaPostgresContenders from '../contenders/kafka-postgres.js';
import { contendersOf } from './contender-ref.js';
import type { MarkdownTable } from './markdown-table.js';
import { formatRate, formatRatio } from './number-format.js';
import { extraOf, measureRepeatedly } from './repeated-measurement.js';
import { scaled, type Scenario, type ScenarioOptions } from './scenario.js';

const pipeline = contendersOf<typeof kafkaPostgresContenders>('contenders/kafka-postgres.js');
const ergon = 'ergon-rx (KafkaConnector, processBatch)';
const raw = 'raw @platformatic/kafka + pg';
const batch = 500;
const countOf = (options: ScenarioOptions): number => scaled(20_000, options);

/** Issue #25 point 5: a Kafka → task → PostgreSQL pipeline against the raw clients. */
export const kafkaPostgres: Scenario = {
  id: 'kafka-postgres',
  title: 'Pipeline: Kafka → PostgreSQL vs raw @platformatic/kafka + pg',
  description: (options) =>
    `Shaped like Redpanda Connect's Kafka → PostgreSQL pipelines (a \`kafka\` input in a consumer group, an \`sql_insert\` output with batching): ${countOf(options).toLocaleString('en-US')} JSON order records (5 fields, about 80 bytes) on a fresh topic of 4 partitions, written before the clock starts, read in a fresh consumer group and inserted into a fresh PostgreSQL table, one multi-row INSERT (\`unnest\` of column arrays) per batch of ${batch} on one connection, offsets committed only after their INSERT (the contiguous written prefix per partition, one commit in flight, at most one per 100 ms, a last one at the end). ergon-rx: \`consume(KafkaConnector, consumerTask({ processBatch }))\`, batch mode, fetches of ${batch} processed as one batch. Raw: the group stream of \`@platformatic/kafka\` read into batches of up to ${batch} (a batch goes when full or when nothing more is buffered), JSON-decoded, inserted with \`pg\`, then marked for the commit. Both read 512 records ahead and at most 1 MiB per partition per fetch. The clock runs from the start of consumption to the last commit and leaving the group, less the wall time of joining the group (about 3 s, the broker's \`group.initial.rebalance.delay.ms\`, idle; its CPU is counted). No warm-up run (a run is a fresh process, as a pipeline starting up is). CPU µs/msg is this process's CPU over that window (filling the topic excluded); the broker's and PostgreSQL's CPU are not in it.`,
  run: async (options) => {
    const run = { count: countOf(options), batch };
    const summaries = await measureRepeatedly(
      {
        [ergon]: pipeline('ergonKafkaPostgres', run),
        [raw]: pipeline('rawKafkaPostgres', run),
      },
      options.repeats,
      120_000,
    );
    const rawRate = summaries.get(raw).throughput.median;
    const rawCpu = extraOf(summaries.get(raw), 'windowCpu').median;
    const table: MarkdownTable = {
      headers: [
        'contender',
        'msgs/s median (min–max)',
        'CPU µs/msg median (min–max)',
        '× raw (msgs/s)',
        '× raw (CPU)',
      ],
      align: ['left', 'right', 'right', 'right', 'right'],
      rows: [...summaries.entries()].map(([label, summary]) => {
        const cpu = extraOf(summary, 'windowCpu');
        return [
          label,
          formatRate(summary.throughput),
          `${cpu.median.toFixed(1)} (${cpu.min.toFixed(1)}–${cpu.max.toFixed(1)})`,
          formatRatio(summary.throughput.median / rawRate),
          formatRatio(rawCpu / cpu.median),
        ];
      }),
    };
    return { tables: [table], targets: [] };
  },
};
