import { ErgonError } from './ergon-error.js';

/** `createTransaction` was given something that cannot make a transaction (e.g. a numeric id). */
export class InvalidTransactionError extends ErgonError {}
