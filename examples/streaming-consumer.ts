/**
 * A streaming consumer with a graceful stop: a producer feeds the memory connector while the
 * loop runs; the loop backs off while the queue is empty and drains in-flight work when
 * stopped (Ctrl-C, or after 3 s here). Run: npx tsx examples/streaming-consumer.ts
 */
import { fromEvent, interval, merge, take, timer } from 'rxjs';
import { consume, consumerTask, MemoryConnector, type Transaction } from '../lib/index.js';

interface Reading {
  readonly sensor: string;
  readonly celsius: number;
}

const connector = new MemoryConnector<Reading>();

// Something upstream publishes 5 readings every 200 ms for 4 s.
const producer = interval(200)
  .pipe(take(20))
  .subscribe((tick) => {
    for (let n = 0; n < 5; n++) connector.feed({ sensor: `s${n}`, celsius: 20 + tick + n / 10 });
  });

const task = consumerTask({
  name: 'store-readings',
  process: async (tx: Transaction<Reading>, { signal }) => {
    // Pretend to write to a database; honour cancellation.
    await new Promise((resolve, reject) => {
      const timeout = setTimeout(resolve, 150);
      signal.addEventListener('abort', () => {
        clearTimeout(timeout);
        reject(signal.reason);
      });
    });
    return `${tx.payload.sensor}@${tx.payload.celsius.toFixed(1)}`;
  },
});

const stop$ = merge(fromEvent(process, 'SIGINT'), timer(3_000));

consume(
  connector,
  task,
  {
    loop: { mode: 'continuous', concurrency: { value: 4 }, streaming: true, shutdownGrace: '1s' },
    fetch: { empty: { backoff: '50ms', backoffCap: '400ms' } },
  },
  { stop$ },
).subscribe({
  next: (outcome) =>
    console.log(
      outcome.status === 'success'
        ? `stored ${outcome.result}`
        : `${outcome.transaction.id}: ${outcome.status}`,
    ),
  complete: () => {
    producer.unsubscribe();
    connector
      .count()
      .subscribe((queued) =>
        console.log('stopped; settlements:', connector.counts, 'left in the queue:', queued),
      );
  },
});
