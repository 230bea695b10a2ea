import { ErgonError } from './ergon-error.js';

/**
 * Thrown (or rejected) by a connector's `settle` when the delivery it should settle is gone
 * (its channel or connection died). The broker redelivers such a message, so the engine
 * reports the transaction as `released` with reason `connectionLost`, whatever its
 * lifecycle's result was: it will be processed again.
 */
export class DeliveryLostError extends ErgonError {}
