import { ErgonError } from '../../core/errors.js';

/**
 * The queue table is not usable as configured: it does not exist yet (call `migrate()`), or
 * its `payload` column has another type than `payloadType` says.
 */
export class PostgresQueueError extends ErgonError {}

/** SQLSTATEs that say "try again on a (new) connection", not "your SQL or data is wrong". */
const transientStates = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, or a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the server is starting
  '53300', // too_many_connections
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

const transientSystemCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** What the pg driver says, without a code, when a connection dies or never comes. */
const transientMessages = [
  'Connection terminated',
  'timeout expired',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'Client has encountered a connection error and is not queryable',
];

/**
 * Whether a PostgreSQL error is about the connection (dropped, refused, timed out, server
 * restarting) rather than the statement, so the same statement may succeed on a new
 * connection after a backoff: SQLSTATE class `08`, `57P01`–`57P03`, `53300`, `40001`,
 * `40P01`, network errors (`ECONNRESET`, `ECONNREFUSED`, …) and the pg driver's own
 * connection errors.
 *
 * @example
 * ```ts
 * isTransientPostgresError({ code: '57P01' }); // true: pg_terminate_backend
 * isTransientPostgresError({ code: '42P01' }); // false: undefined_table
 * ```
 */
export function isTransientPostgresError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (code.startsWith('08') || transientStates.has(code) || transientSystemCodes.has(code)) {
      return true;
    }
  }
  return typeof message === 'string' && transientMessages.some((text) => message.startsWith(text));
}

/**
 * A table connector cannot work with the table as configured: the table or a configured
 * column does not exist, the lease column is not a `timestamptz`, or a dispatched row names
 * a column the table does not have. The message names the table, the column and the fix.
 */
export class PostgresTableError extends ErgonError {}
