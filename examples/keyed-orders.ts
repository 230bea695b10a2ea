/**
 * Order per key: order events of many customers, applied in order per customer while
 * different customers run side by side. Each event takes a random time and one in ten fails
 * once (it is retried); an event never overtakes an earlier one of its customer, retries
 * included. Run: npx tsx examples/keyed-orders.ts
 */
import { consume, consumerTask, MemoryConnector, type Transaction } from '../lib/index.js';

interface OrderEvent {
  readonly customer: string;
  readonly step: number;
  readonly kind: 'created' | 'paid' | 'shipped';
}

const kinds = ['created', 'paid', 'shipped'] as const;
const customers = ['ada', 'grace', 'linus', 'margaret', 'ken'];

// Events arrive interleaved across customers, in order within each customer.
const connector = new MemoryConnector<OrderEvent>({
  source: kinds.flatMap((kind, step) => customers.map((customer) => ({ customer, step, kind }))),
});

/** What each customer's account has seen, in the order it was applied. */
const applied = new Map<string, string[]>();
const failedOnce = new Set<string>();

const task = consumerTask({
  name: 'apply-order-events',
  key: (tx: Transaction<OrderEvent>) => tx.payload.customer,
  process: async (tx: Transaction<OrderEvent>) => {
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 40));
    if (Math.random() < 0.1 && !failedOnce.has(tx.id)) {
      failedOnce.add(tx.id);
      throw new Error('database busy');
    }
    const history = applied.get(tx.payload.customer) ?? [];
    history.push(tx.payload.kind);
    applied.set(tx.payload.customer, history);
  },
});

consume(connector, task, {
  loop: { mode: 'continuous', concurrency: { value: 8 }, keyConcurrency: { value: 1 } },
  process: { retry: { maxAttempts: 3, backoff: '20ms' } },
}).subscribe({
  complete: () => {
    for (const [customer, history] of applied) console.log(`${customer}: ${history.join(' → ')}`);
    const inOrder = [...applied.values()].every((history) => history.join() === kinds.join());
    console.log(
      `${failedOnce.size} events failed once and were retried; every customer in order: ${inOrder}`,
    );
    if (!inOrder) process.exitCode = 1;
  },
});
