import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { PolicyError } from '../../../core/errors.js';
import type { PostgresConnectionConfig } from '../postgres-connection-config.js';
import { PostgresService } from '../postgres-service.js';

/** The service a PostgreSQL connector runs on, and whether the connector closes it. */
export interface ConnectorService {
  readonly service: PostgresService;
  /** `true` for the connector's own service (closed by its `close`), `false` for a shared one. */
  readonly owned: boolean;
}

/**
 * The `shared` service when given (its owner closes it), else one of the connector's own from
 * `connection`.
 *
 * @throws PolicyError (`what` names the config) when `connectionInput` has settings although
 *   `shared` is given: they would be ignored.
 */
export function connectorService(
  what: string,
  shared: PostgresService | undefined,
  connectionInput: unknown,
  connection: PostgresConnectionConfig,
): ConnectorService {
  if (shared === undefined) return { service: new PostgresService(connection), owned: true };
  if (connectionInput != null) {
    throw new PolicyError(what, [
      {
        path: 'connection',
        expected: 'nothing when a service is given (configure the service instead)',
        actual: 'connection settings', // not the settings themselves: they may hold a password
      },
    ]);
  }
  return { service: shared, owned: false };
}

/** A name of this connector among the workers: `<host>:<pid>:<random 8 hex digits>`. */
export function workerOwner(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
