import { createTransaction } from '../../lib/index.js';
import { openBrokerConnector } from './broker-connector.js';
import type { BrokerEndpoint } from './broker-endpoint.js';

/** `count` ids `<prefix>-0` … `<prefix>-<count-1>`. */
export function numberedIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}-${index}`);
}

/**
 * Publishes one message per id through the connector's own `dispatch` (confirmed by the
 * broker), in batches of 500; payload `{ n }`, the id's number. Fails if any was refused.
 */
export async function publishNumbered(
  endpoint: BrokerEndpoint,
  ids: readonly string[],
): Promise<void> {
  const connector = await openBrokerConnector(endpoint, 0);
  try {
    for (let start = 0; start < ids.length; start += 500) {
      const batch = ids
        .slice(start, start + 500)
        .map((id, index) => createTransaction({ n: start + index }, { id }));
      const report = await connector.dispatch(batch);
      if (report.failed.length > 0) {
        throw new Error(`${report.failed.length} of ${batch.length} messages were not published`);
      }
    }
  } finally {
    await connector.close();
  }
}
