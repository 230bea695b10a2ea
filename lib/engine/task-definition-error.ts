import { ErgonError } from '../core/errors.js';

/** A task definition is missing a handler or has one that is not a function. */
export class TaskDefinitionError extends ErgonError {}
