import { ErgonError } from '../core/ergon-error.js';

/** A transaction was settled twice, or settled by a connector that never fetched it. */
export class SettlementError extends ErgonError {}
