import { ErgonError } from '../../core/errors.js';

/**
 * The NATS server cannot be reached: the first connection failed, or the connection is down
 * (the client is reconnecting) for longer than an operation may wait.
 */
export class NatsConnectionError extends ErgonError {}
