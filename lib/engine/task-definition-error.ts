import { ErgonError } from '../core/ergon-error.js';

/** A task definition is missing a handler or has one that is not a function. */
export class TaskDefinitionError extends ErgonError {}
