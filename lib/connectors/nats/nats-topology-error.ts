import { ErgonError } from '../../core/errors.js';

/**
 * A stream or consumer could not be declared as configured: the server refused it, or one
 * already exists with settings that cannot be changed (retention, storage, ack policy).
 */
export class NatsTopologyError extends ErgonError {}
