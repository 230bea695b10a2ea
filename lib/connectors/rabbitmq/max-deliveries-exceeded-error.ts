import { ErgonError } from '../../core/errors.js';

/**
 * The reason recorded on a message the connector dead-lettered without processing it because
 * the broker had delivered it more than `maxDeliveries` times (a poison message). Quorum
 * queues declared by the connector dead-letter such messages in the broker before they are
 * delivered again; this covers queues declared elsewhere.
 */
export class MaxDeliveriesExceededError extends ErgonError {
  readonly deliveries: number;
  constructor(deliveries: number, maxDeliveries: number) {
    super(`delivered ${deliveries} times, more than maxDeliveries (${maxDeliveries})`);
    this.deliveries = deliveries;
  }
}
