import { setTimeout as sleep } from 'node:timers/promises';
import { createTransaction } from '../../lib/index.js';
import type { RabbitmqConnector } from '../../lib/connectors/rabbitmq/index.js';
import type { SoakMessage } from './soak-message.js';

/** How {@link publishPaced} feeds a queue. */
export interface Pacing {
  /** Messages to publish, numbered 1…`count` (the number is also the transaction id). */
  readonly count: number;
  /** Messages per `dispatch` call (each waits for the broker's confirms). */
  readonly batch: number;
  /** Most messages published and not yet settled by the consumer. */
  readonly window: number;
  /** How many the consumer settled so far. */
  readonly settled: () => number;
  /** Stops publishing (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/** How often a publisher whose window is full looks again. */
const windowPollMs = 50;

/**
 * Publishes uniquely numbered messages through `connector.dispatch` (publisher confirms), in
 * batches, never more than `window` ahead of the consumer: a queue holding a bounded backlog
 * rather than millions of messages, so the broker neither pages them to disk nor throttles
 * the publisher.
 *
 * @throws Error naming the first message the broker did not confirm.
 */
export async function publishPaced(
  connector: RabbitmqConnector<SoakMessage>,
  pacing: Pacing,
): Promise<void> {
  for (let next = 1; next <= pacing.count;) {
    pacing.signal?.throwIfAborted();
    const size = Math.min(pacing.batch, pacing.count - next + 1);
    if (next - 1 + size - pacing.settled() > pacing.window) {
      await sleep(windowPollMs, undefined, { signal: pacing.signal });
      continue;
    }
    const batch = Array.from({ length: size }, (_, index) =>
      createTransaction<SoakMessage>({ n: next + index }, { id: String(next + index) }),
    );
    const { failed } = await connector.dispatch(batch);
    const first = failed[0];
    if (first !== undefined) {
      throw new Error(
        `${failed.length} messages not confirmed, the first ${first.transaction.id}`,
        {
          cause: first.error,
        },
      );
    }
    next += size;
  }
}
