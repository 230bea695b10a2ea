/**
 * Base class of every error ergon-rx throws, so callers can tell framework errors apart
 * from their own with one `instanceof` check.
 */
export class ErgonError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
