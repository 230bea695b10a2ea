import { expect } from 'chai';
import { jsonCodec, PolicyError } from '../../../lib/index.js';
import {
  isTransientPostgresError,
  postgresConnectionConfig,
  postgresConnectorConfig,
  PostgresConnector,
  PostgresService,
} from '../../../lib/connectors/postgres/index.js';

function policyError(run: () => unknown): PolicyError {
  try {
    run();
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('expected a PolicyError');
}

describe('PostgreSQL connector config', () => {
  it('fills every default', () => {
    expect(postgresConnectorConfig({ table: 'orders' })).to.deep.equal({
      connection: {
        url: null,
        applicationName: 'ergon-rx',
        poolSize: 10,
        connectTimeout: 10_000,
        queryTimeout: 30_000,
        reconnect: { backoff: 100, backoffMultiplier: 2, backoffCap: 5000, jitter: 'none' },
      },
      schema: 'public',
      table: 'orders',
      deadTable: 'orders_dead',
      channel: 'orders',
      payloadType: 'jsonb',
      codec: jsonCodec,
      fetchWait: 1000,
      lease: 30_000,
      maxDeliveries: 5,
      releaseDelay: 0,
      dispatchBatch: 1000,
    });
  });

  it('accepts env-style strings', () => {
    const config = postgresConnectorConfig({
      connection: {
        url: 'postgresql://app:secret@db:5433/jobs',
        poolSize: '4' as unknown as number,
      },
      table: 'orders',
      schema: 'queues',
      deadTable: 'orders_failed',
      channel: 'orders wake-up',
      payloadType: 'BYTEA' as 'bytea',
      fetchWait: '250ms',
      lease: '2m',
      maxDeliveries: '3',
      releaseDelay: '1s',
    });
    expect(config).to.deep.include({
      schema: 'queues',
      deadTable: 'orders_failed',
      channel: 'orders wake-up',
      payloadType: 'bytea',
      fetchWait: 250,
      lease: 120_000,
      maxDeliveries: 3,
      releaseDelay: 1000,
    });
    expect(config.connection).to.include({
      url: 'postgresql://app:secret@db:5433/jobs',
      poolSize: 4,
    });
  });

  it('names the path of a bad URL, and never prints its password', () => {
    const error = policyError(() =>
      postgresConnectorConfig({
        connection: { url: 'mysql://app:hunter2@db/jobs' },
        table: 'orders',
      }),
    );
    expect(error.issues.map((issue) => issue.path)).to.deep.equal(['connection.url']);
    expect(error.message).to.include('postgres:// or postgresql:// URL');
    expect(error.message).not.to.include('hunter2');
    expect(
      policyError(() => postgresConnectionConfig({ url: 'not a url' })).issues[0]?.path,
    ).to.equal('url');
  });

  it('requires a table', () => {
    const error = policyError(() => postgresConnectorConfig({} as { table: string }));
    expect(error.issues.map((issue) => issue.path)).to.deep.equal(['table']);
    expect(error.message).to.match(/table: expected SQL identifier/);
  });

  it('rejects zero sizes and durations with their paths', () => {
    const error = policyError(() =>
      postgresConnectorConfig({
        connection: { poolSize: 0 },
        table: 'orders',
        lease: 0,
        maxDeliveries: 0,
        dispatchBatch: 0,
      }),
    );
    expect(error.issues.map((issue) => issue.path)).to.deep.equal([
      'connection.poolSize',
      'lease',
      'maxDeliveries',
      'dispatchBatch',
    ]);
  });

  it('rejects names that are not plain identifiers, and unknown keys', () => {
    const error = policyError(() =>
      postgresConnectorConfig({
        table: 'orders; drop table users',
        schema: '1abc',
        channel: 'c'.repeat(64),
        payloadType: 'json' as 'jsonb',
        codec: { encode: 1 } as never,
        prefetch: 10,
      } as never),
    );
    expect(error.issues.map((issue) => issue.path)).to.deep.equal([
      'schema',
      'table',
      'channel',
      'payloadType',
      'codec',
      'prefetch',
    ]);
    expect(
      policyError(() => postgresConnectorConfig({ table: 'x'.repeat(64) })).issues[0]?.path,
    ).to.equal('table');
  });

  it('asks for an explicit deadTable when the derived one would be too long or the queue itself', () => {
    const long = policyError(() => postgresConnectorConfig({ table: 'x'.repeat(60) }));
    expect(long.issues.map((issue) => issue.path)).to.deep.equal(['deadTable']);
    const same = policyError(() =>
      postgresConnectorConfig({ table: 'orders', deadTable: 'orders' }),
    );
    expect(same.issues.map((issue) => issue.path)).to.deep.equal(['deadTable']);
  });

  it('refuses connection settings next to a shared service', async () => {
    const service = new PostgresService({ url: 'postgres://127.0.0.1:1/none' });
    try {
      const error = policyError(
        () => new PostgresConnector({ connection: { poolSize: 2 }, table: 'orders' }, { service }),
      );
      expect(error.issues.map((issue) => issue.path)).to.deep.equal(['connection']);
    } finally {
      await service.close();
    }
  });
});

describe('isTransientPostgresError', () => {
  it('tells connection failures from statement errors', () => {
    for (const code of [
      '57P01',
      '08006',
      '08001',
      '53300',
      '40001',
      'ECONNREFUSED',
      'ECONNRESET',
    ]) {
      expect(isTransientPostgresError({ code }), code).to.equal(true);
    }
    expect(isTransientPostgresError(new Error('Connection terminated unexpectedly'))).to.equal(
      true,
    );
    expect(isTransientPostgresError(new Error('Query read timeout'))).to.equal(true);
    for (const code of ['42P01', '23505', '22P02', '42601']) {
      expect(isTransientPostgresError({ code }), code).to.equal(false);
    }
    expect(isTransientPostgresError(new Error('boom'))).to.equal(false);
    expect(isTransientPostgresError(undefined)).to.equal(false);
  });
});
