import { maskCredentials } from './mask-credentials.js';

/**
 * A one-line description of anything thrown: `Type: message`, falling back to the type name
 * when the message is empty (so `new Error('')` still says something) and to a JSON or
 * string rendering for thrown non-errors. Credentials in it are masked (`maskCredentials`).
 */
export function describeError(error: unknown): string {
  return maskCredentials(describeUnmasked(error));
}

function describeUnmasked(error: unknown): string {
  if (error instanceof Error) {
    const named = error.name && error.name !== 'Error' ? error.name : undefined;
    const type = named ?? (error.constructor?.name || 'Error');
    return error.message ? `${type}: ${error.message}` : `${type} (no message)`;
  }
  if (typeof error === 'string') return error === '' ? 'empty string thrown' : error;
  try {
    return `non-error thrown: ${JSON.stringify(error) ?? String(error)}`;
  } catch {
    return `non-error thrown: ${String(error)}`;
  }
}
