import { ErgonError } from '../../core/errors.js';

/**
 * A message could not be dead-lettered (the copy to the dead-letter exchange was not
 * confirmed). The connector put the message back in its queue instead, so nothing is lost;
 * the outcome carries this error as its `settleError`.
 */
export class RabbitmqDeadLetterError extends ErgonError {}
