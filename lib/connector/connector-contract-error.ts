import { ErgonError } from '../core/ergon-error.js';

/** A connector broke its contract (fetch returned no Observable, or emitted a non-transaction). */
export class ConnectorContractError extends ErgonError {}
