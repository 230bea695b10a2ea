import type { SerializedThreadError } from './thread-messages.js';

/** Plain-data form of anything thrown in a thread. */
export function serializeThreadError(error: unknown): SerializedThreadError {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: 'Error', message: String(error), stack: undefined };
}
