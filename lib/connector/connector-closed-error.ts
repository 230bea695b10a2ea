import { ErgonError } from '../core/ergon-error.js';

/** A connector was used after `close()`. */
export class ConnectorClosedError extends ErgonError {}
