import { maskCredentials } from './mask-credentials.js';

/**
 * Base class of every error ergon-rx throws, so callers can tell framework errors apart
 * from their own with one `instanceof` check. Credentials in the message (a URL's password,
 * a token) are masked, in the message and so in the stack.
 */
export class ErgonError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(maskCredentials(message), options);
    this.name = new.target.name;
  }
}
