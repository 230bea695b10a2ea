// The skeleton the SQS and S3 connectors share: their SDK client's settings, the cold fetch,
// and the health probe. Each connector keeps its
// own requests and settlement actions.
import { defer, Observable, type Subscriber } from 'rxjs';
import { hostAndPort } from '../../core/connection-failures.js';
import type { ConnectorHealth } from '../../core/connector.js';
import { ConnectorClosedError, PolicyError } from '../../core/errors.js';
import { describeError, renderValue } from '../../core/renderers.js';
import type { AwsConnectionConfig } from './aws-connection-config.js';

/** The settings of an SDK client (`SQSClient`, `S3Client`) made from a connection config. */
export interface AwsClientSettings {
  readonly endpoint?: string;
  readonly region: string;
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  /** 1: {@link AwsRequests} repeats what failed transiently, with its own backoff. */
  readonly maxAttempts: 1;
  readonly requestHandler: { readonly connectionTimeout: number; readonly requestTimeout: number };
}

/**
 * The client settings of `connection`; `requestTimeout` is the longest wait for one answer
 * (SQS adds its long poll's wait to the configured one).
 */
export function awsClientSettings(
  connection: AwsConnectionConfig,
  requestTimeout: number = connection.requestTimeout,
): AwsClientSettings {
  const { endpoint, region, credentials } = connection;
  return {
    ...(endpoint === null ? {} : { endpoint }),
    region,
    ...(credentials === null
      ? {}
      : {
          credentials: {
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: credentials.secretAccessKey,
            ...(credentials.sessionToken === null
              ? {}
              : { sessionToken: credentials.sessionToken }),
          },
        }),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: connection.connectTimeout, requestTimeout },
  };
}

/** `host:port` of the server, as outage logs name it (`<service>.<region>.amazonaws.com` on AWS). */
export function awsAddress(connection: AwsConnectionConfig, service: 'sqs' | 's3'): string {
  return connection.endpoint === null
    ? `${service}.${connection.region}.amazonaws.com`
    : hostAndPort(connection.endpoint, 443);
}

/**
 * Refuses connection settings next to a shared client (they would be ignored).
 *
 * @throws PolicyError naming `connection`.
 */
export function refuseConnectionWithClient(
  what: string,
  clientName: string,
  client: unknown,
  connection: unknown,
): void {
  if (client === undefined || connection == null) return;
  throw new PolicyError(what, [
    {
      path: 'connection',
      expected: `no connection settings with a shared ${clientName} (configure the client)`,
      actual: renderValue(connection),
    },
  ]);
}

/**
 * A cold fetch: each subscription runs `fetchInto` with an abort signal that unsubscribing
 * aborts, completes when it resolves, and fails with `ConnectorClosedError` once `closed()`.
 */
export function fetchObservable<T>(
  transport: string,
  closed: () => boolean,
  fetchInto: (subscriber: Subscriber<T>, signal: AbortSignal) => Promise<void>,
): Observable<T> {
  return new Observable<T>((subscriber) => {
    if (closed()) {
      subscriber.error(new ConnectorClosedError(`${transport} connector is closed`));
      return;
    }
    const cancel = new AbortController();
    fetchInto(subscriber, cancel.signal).then(
      () => subscriber.complete(),
      (error: unknown) =>
        subscriber.error(
          closed()
            ? new ConnectorClosedError(`${transport} connector closed during a fetch`, {
                cause: error,
              })
            : error,
        ),
    );
    return () => cancel.abort(new ConnectorClosedError('fetch unsubscribed'));
  });
}

/**
 * One `probe` without retries: `closed` once the connector is, `connected` when it answered,
 * `unreachable` with the error otherwise.
 */
export function probeHealth(
  closed: () => boolean,
  probe: () => Promise<unknown>,
): Observable<ConnectorHealth> {
  return defer(async (): Promise<ConnectorHealth> => {
    if (closed()) return { healthy: false, state: 'closed' };
    try {
      await probe();
      return { healthy: true, state: 'connected' };
    } catch (error) {
      return { healthy: false, state: 'unreachable', detail: describeError(error) };
    }
  });
}
