/**
 * A rate-limited HTTP downstream: a local server that allows 100 requests per second (a token
 * bucket of 100, refilled at 100/s) and answers `429` with `Retry-After: 1` beyond that, and a
 * consumer that POSTs each transaction to it. Two runs of the same transactions:
 *
 * 1. without `loop.rateLimit`: the consumer goes as fast as its concurrency allows, the server
 *    refuses, the handler throws `RateLimitedError` and the whole run pauses for the
 *    `Retry-After`; refused attempts are tried again and do not use up `maxAttempts`, so
 *    every transaction still succeeds;
 * 2. with `loop.rateLimit: { limit: 100, interval: '1s' }`: the loop starts no more than the
 *    server allows, so it never sees a 429.
 *
 * Run: npx tsx examples/rate-limited-http.ts [count]   (count: transactions per run, 500)
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  RateLimitedError,
  type Transaction,
} from '../lib/index.js';

const count = Number(process.argv[2] ?? '500');
const allowedPerSecond = 100;

/** The downstream's token bucket: `allowedPerSecond` tokens, refilled continuously. */
class TokenBucket {
  private tokens = allowedPerSecond;
  private refilledAt = performance.now();

  take(): boolean {
    const now = performance.now();
    const refill = ((now - this.refilledAt) / 1000) * allowedPerSecond;
    this.tokens = Math.min(allowedPerSecond, this.tokens + refill);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** What the server saw during one run. */
const seen = { requests: 0, refused: 0, bucket: new TokenBucket(), highestAttempt: 0 };

const server = createServer((request: IncomingMessage, response: ServerResponse) => {
  request.resume();
  request.on('end', () => {
    seen.requests++;
    if (!seen.bucket.take()) {
      seen.refused++;
      response.writeHead(429, { 'retry-after': '1' }).end();
      return;
    }
    response.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;

interface Order {
  readonly n: number;
}

const task = consumerTask({
  name: 'post-orders',
  process: async (tx: Transaction<Order>, { signal, attempt }) => {
    seen.highestAttempt = Math.max(seen.highestAttempt, attempt);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(tx.payload),
      signal,
    });
    await response.arrayBuffer();
    if (response.status === 429) {
      // Retry-After in seconds (it may also be an HTTP date; this server sends seconds).
      throw new RateLimitedError(Number(response.headers.get('retry-after') ?? '1') * 1000);
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
  },
});

/** One run over `count` new transactions, with or without `loop.rateLimit`. */
async function run(title: string, rateLimited: boolean): Promise<boolean> {
  seen.requests = 0;
  seen.refused = 0;
  seen.highestAttempt = 0;
  seen.bucket = new TokenBucket();
  const connector = new MemoryConnector<Order>({
    source: Array.from({ length: count }, (_, n) => ({ n })),
  });
  const started = performance.now();
  const outcomes = await lastValueFrom(
    consume(connector, task, {
      loop: {
        mode: 'continuous',
        concurrency: { value: 16 },
        rateLimit: rateLimited ? { limit: allowedPerSecond, interval: '1s' } : null,
      },
      process: { retry: { maxAttempts: 3, backoff: '100ms' } },
    }).pipe(toArray()),
  );
  const seconds = (performance.now() - started) / 1000;
  const byStatus = new Map<string, number>();
  for (const outcome of outcomes) {
    byStatus.set(outcome.status, (byStatus.get(outcome.status) ?? 0) + 1);
  }
  const statuses = [...byStatus].map(([status, n]) => `${n} ${status}`).join(', ');
  console.log(
    `${title}: ${seconds.toFixed(1)} s, ${seen.requests} requests, ${seen.refused} × 429, highest attempt ${seen.highestAttempt} of 3, outcomes: ${statuses}`,
  );
  return byStatus.get('success') === count;
}

const unlimited = await run('without loop.rateLimit', false);
const limited = await run('with loop.rateLimit 100/s', true);
server.close();
console.log(`every transaction succeeded in both runs: ${unlimited && limited}`);
if (!unlimited || !limited) process.exitCode = 1;
