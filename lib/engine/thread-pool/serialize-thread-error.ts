import { describeError, errorParts } from '../../core/renderers.js';
import type { SerializedThreadError } from './thread-messages.js';

/** Plain-data form of anything thrown in a thread; never throws, whatever was thrown. */
export function serializeThreadError(error: unknown): SerializedThreadError {
  const parts = errorParts(error);
  if (parts === undefined)
    return { name: 'Error', message: describeError(error), stack: undefined };
  return {
    name: parts.type,
    message: parts.message ?? describeError(error),
    stack: parts.stack,
  };
}
