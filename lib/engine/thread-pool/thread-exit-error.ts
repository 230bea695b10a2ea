import { ErgonError } from '../../core/errors.js';

/**
 * The thread running a call died before answering: it called `process.exit`, crashed on an
 * uncaught error outside the call, or ran out of memory. The thread is replaced.
 */
export class ThreadExitError extends ErgonError {}
