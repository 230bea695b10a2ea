/**
 * ergon-rx is just Observables: a consumer embedded in a small reactive web app. Its outcomes
 * are merged with the app's own streams (a live order feed, a clock) into a status stream
 * that a live endpoint pushes to browsers over server-sent events.
 *
 * Run: npx tsx examples/reactive-app.ts   then open http://127.0.0.1:3000 (Ctrl-C stops
 * gracefully). PORT and DURATION_MS (stop after that long) are read from the environment.
 */
import { createServer } from 'node:http';
import {
  fromEvent,
  interval,
  map,
  merge,
  scan,
  share,
  shareReplay,
  startWith,
  take,
  throttleTime,
  timer,
} from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  type Outcome,
  type Transaction,
} from '../lib/index.js';

interface Order {
  readonly sku: string;
  readonly quantity: number;
}

interface Status {
  readonly processed: number;
  readonly failed: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly lastOrder: string | null;
  readonly uptimeSeconds: number;
}

const port = Number(process.env['PORT'] ?? 3000);
const durationMs =
  process.env['DURATION_MS'] === undefined ? null : Number(process.env['DURATION_MS']);

// The app's own stream: orders arriving from somewhere, fed to the connector as they come.
const orders = new MemoryConnector<Order>();
const feed = interval(40).subscribe((n) =>
  orders.feed({ sku: `sku-${n % 7}`, quantity: (n % 5) - 1 }),
);

const reserveStock = consumerTask({
  name: 'reserve-stock',
  process: async (tx: Transaction<Order>, { signal }) => {
    await new Promise((resolve) => setTimeout(resolve, 20 + (tx.payload.quantity % 3) * 15));
    signal.throwIfAborted();
    if (tx.payload.quantity <= 0) throw new Error(`nothing to reserve for ${tx.payload.sku}`);
    return `${tx.payload.quantity} × ${tx.payload.sku}`;
  },
});

const stop$ = merge(
  fromEvent(process, 'SIGINT'),
  durationMs === null ? [] : timer(durationMs),
).pipe(take(1));

// The consumer is one more Observable in the app.
const outcomes$ = consume(
  orders,
  reserveStock,
  {
    loop: { mode: 'continuous', concurrency: { value: 8 }, streaming: true, shutdownGrace: '2s' },
    fetch: { empty: { backoff: '20ms', backoffCap: '200ms' } },
  },
  { stop$ },
).pipe(share());

const clock$ = interval(1000).pipe(
  map((seconds) => ({ kind: 'tick' as const, seconds: seconds + 1 })),
);
const events$ = merge(
  outcomes$.pipe(map((outcome) => ({ kind: 'outcome' as const, outcome }))),
  clock$,
);

const initial: Status = {
  processed: 0,
  failed: 0,
  byStatus: {},
  lastOrder: null,
  uptimeSeconds: 0,
};
const status$ = events$.pipe(
  scan((status: Status, event): Status => {
    if (event.kind === 'tick') return { ...status, uptimeSeconds: event.seconds };
    const outcome: Outcome<Order, string> = event.outcome;
    return {
      ...status,
      processed: status.processed + 1,
      failed: status.failed + (outcome.status === 'success' ? 0 : 1),
      byStatus: {
        ...status.byStatus,
        [outcome.status]: (status.byStatus[outcome.status] ?? 0) + 1,
      },
      lastOrder: outcome.status === 'success' ? outcome.result : status.lastOrder,
    };
  }, initial),
  startWith(initial),
  shareReplay(1),
);

const page = `<!doctype html><meta charset="utf-8"><title>reserve-stock</title>
<h1>reserve-stock</h1><pre id="status">connecting…</pre>
<script>
  new EventSource('/events').onmessage = (event) => {
    document.getElementById('status').textContent = JSON.stringify(JSON.parse(event.data), null, 2);
  };
</script>`;

const server = createServer((request, response) => {
  if (request.url === '/events') {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const subscription = status$
      .pipe(throttleTime(200, undefined, { leading: true, trailing: true }))
      .subscribe((status) => response.write(`data: ${JSON.stringify(status)}\n\n`));
    request.on('close', () => subscription.unsubscribe());
    return;
  }
  if (request.url === '/status') {
    status$.pipe(take(1)).subscribe((status) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(status));
    });
    return;
  }
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  response.end(page);
});

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`status page on http://127.0.0.1:${bound}`);
});
status$.subscribe();
outcomes$.subscribe({
  complete: () => {
    feed.unsubscribe();
    status$.pipe(take(1)).subscribe((status) => {
      console.log('stopped gracefully:', status);
      server.closeAllConnections();
      server.close();
      process.exit(0);
    });
  },
});
