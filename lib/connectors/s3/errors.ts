import { ErgonError } from '../../core/errors.js';

/**
 * A payload that cannot be written as one line of a JSON-lines object: its encoding holds a
 * line break. Use a codec whose output is one line (`jsonCodec` is), or `format: 'object'`.
 */
export class S3LineError extends ErgonError {}
