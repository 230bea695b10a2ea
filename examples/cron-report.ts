/**
 * A report on a cron schedule, run by two workers that share a PostgreSQL tick store: every
 * tick of `* * * * * *` (each second; six fields, seconds first) is claimed by exactly one of
 * them, whichever asks first. In production the workers are separate processes (or
 * machines) with the same schedule `name` and store; here they are two loops in one process.
 *
 * Run: npx tsx examples/cron-report.ts [seconds]   (default 4; needs PostgreSQL on 127.0.0.1)
 */
import { merge, timer } from 'rxjs';
import { consume, consumerTask, type Transaction } from '../lib/index.js';
import { PostgresTickStore } from '../lib/connectors/postgres/index.js';
import { cronConnector, type TickMetadata } from '../lib/connectors/schedule/index.js';

const seconds = Number(process.argv[2] ?? '4');
const store = new PostgresTickStore({
  connection: { url: 'postgres://postgres@127.0.0.1:5432/test' },
  table: 'ergon_ticks_example',
});
await store.migrate();

interface Report {
  readonly kind: string;
}

function worker(name: string) {
  const ticks = cronConnector<Report>({
    name: `report-example-${process.pid}`, // the schedule's identity: the same in every worker
    schedule: '* * * * * *',
    timezone: 'Europe/Paris',
    payload: { kind: 'sales' },
    store,
  });
  const report = consumerTask({
    process: (tx: Transaction<Report>) => {
      const { tickAt } = tx.metadata as TickMetadata;
      console.log(`${name} ran the ${tx.payload.kind} report of ${tickAt}`);
      return tickAt;
    },
  });
  return consume(
    ticks,
    report,
    { loop: { mode: 'continuous', streaming: true } },
    {
      stop$: timer(seconds * 1000),
    },
  );
}

const ran: string[] = [];
merge(worker('worker-a'), worker('worker-b')).subscribe({
  next: (outcome) => {
    if (outcome.status === 'success') ran.push(outcome.result);
  },
  complete: () => {
    console.log(`ticks run: ${ran.length}, each once: ${new Set(ran).size === ran.length}`);
    void store.close();
  },
});
