import { ErgonError } from '../../core/errors.js';

/**
 * A message could not be published to the dead-letter stream. The connector released it
 * instead (it comes back and is dead-lettered again later), so nothing is lost.
 */
export class NatsDeadLetterError extends ErgonError {}
