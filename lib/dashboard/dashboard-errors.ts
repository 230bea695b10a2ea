import { ErgonError } from '../core/errors.js';

/**
 * A request to the dashboard's API that it refuses: `status` is the HTTP status it answers
 * with (400 bad body, 403 refused, 404 unknown connector, 405 wrong method, 413 body too
 * large, 415 not JSON, 504 the connector did not answer), the message says what was wrong and
 * what to do. The page shows the message; `/api/…` clients get it as `{ "error": message }`.
 *
 * @example
 * ```ts
 * throw new DashboardRequestError(415, 'send the body as JSON (content-type: application/json)');
 * ```
 */
export class DashboardRequestError extends ErgonError {
  readonly status: number;
  constructor(status: number, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}
