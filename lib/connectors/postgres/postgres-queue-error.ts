import { ErgonError } from '../../core/errors.js';

/**
 * The queue table is not usable as configured: it does not exist yet (call `migrate()`), or
 * its `payload` column has another type than `payloadType` says.
 */
export class PostgresQueueError extends ErgonError {}
