import { ErgonError } from '../../core/errors.js';

/**
 * Declaring (or checking) the configured queues, exchanges or bindings failed: typically an
 * existing queue with different arguments (`PRECONDITION_FAILED`, e.g. a classic queue where
 * the config says `quorum`), or a queue that does not exist with `declare: false`. Retrying
 * cannot help until the config or the broker changes.
 */
export class RabbitmqTopologyError extends ErgonError {}
