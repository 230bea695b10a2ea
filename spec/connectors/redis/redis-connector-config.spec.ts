import { expect } from 'chai';
import { jsonCodec, PolicyError } from '../../../lib/index.js';
import {
  RedisConnector,
  RedisService,
  redisConnectorConfig,
  redisServiceConfig,
  type RedisConnectorConfigInput,
} from '../../../lib/connectors/redis/index.js';

function issuesOf(decode: () => unknown): { path: string; expected: string }[] {
  try {
    decode();
  } catch (error) {
    expect(error).to.be.instanceOf(PolicyError);
    return (error as PolicyError).issues.map(({ path, expected }) => ({ path, expected }));
  }
  throw new Error('expected a PolicyError');
}

describe('redisConnectorConfig', () => {
  it('fills every default', () => {
    expect(redisConnectorConfig({ stream: 'orders' })).to.deep.equal({
      connection: {
        url: 'redis://127.0.0.1:6379',
        connectTimeout: 10_000,
        reconnect: { backoff: 100, backoffMultiplier: 2, backoffCap: 5000, jitter: 'none' },
        name: 'ergon-rx',
      },
      stream: 'orders',
      group: 'ergon',
      consumer: null,
      deadLetterStream: null,
      maxDeliveries: 5,
      fetchWait: 1000,
      claimIdle: 30_000,
      deleteOnAck: false,
      groupStart: '0',
      codec: jsonCodec,
    });
  });

  it('accepts environment-style strings', () => {
    const config = redisConnectorConfig({
      stream: 'orders',
      maxDeliveries: '3',
      fetchWait: '250ms',
      claimIdle: '1m',
      deleteOnAck: 'yes',
      groupStart: '$',
      connection: {
        url: 'rediss://user:secret@cache.example:6380/2',
        reconnect: { backoffCap: '10s' },
      },
    });
    expect(config).to.deep.include({
      maxDeliveries: 3,
      fetchWait: 250,
      claimIdle: 60_000,
      deleteOnAck: true,
      groupStart: '$',
    });
    expect(config.connection.reconnect.backoffCap).to.equal(10_000);
  });

  it('rejects a bad URL, naming the path', () => {
    expect(
      issuesOf(() => redisConnectorConfig({ stream: 's', connection: { url: 'http://x' } })),
    ).to.deep.equal([
      { path: 'connection.url', expected: 'redis:// or rediss:// URL with a host' },
    ]);
    expect(issuesOf(() => redisServiceConfig({ url: 'not a url' }))[0]?.path).to.equal('url');
  });

  it('rejects a missing or empty stream, naming the path', () => {
    const missing = {} as RedisConnectorConfigInput;
    expect(issuesOf(() => redisConnectorConfig(missing))).to.deep.equal([
      { path: 'stream', expected: 'non-empty string' },
    ]);
    expect(issuesOf(() => redisConnectorConfig({ stream: '  ' }))[0]?.path).to.equal('stream');
  });

  it('rejects zero maxDeliveries, zero claimIdle and a bad group start', () => {
    expect(
      issuesOf(() =>
        redisConnectorConfig({ stream: 's', maxDeliveries: 0, claimIdle: 0, groupStart: 'latest' }),
      ).map((issue) => issue.path),
    ).to.deep.equal(['maxDeliveries', 'claimIdle', 'groupStart']);
  });

  it('rejects unknown keys with a hint, and a codec without encode/decode', () => {
    const input = {
      stream: 's',
      maxDelivery: 3,
      codec: { contentType: 'x' },
    } as unknown as RedisConnectorConfigInput;
    const issues = issuesOf(() => redisConnectorConfig(input));
    expect(issues.map((issue) => issue.path)).to.deep.equal(['codec', 'maxDelivery']);
    expect(issues[1]?.expected).to.match(/did you mean "maxDeliveries"/);
  });

  it('a connector with a shared service must not have connection settings', () => {
    const service = new RedisService({ url: 'redis://127.0.0.1:1' });
    try {
      expect(
        issuesOf(
          () => new RedisConnector({ stream: 's', connection: { url: 'redis://x' } }, service),
        ),
      ).to.deep.equal([
        {
          path: 'connection',
          expected: 'no connection settings with a shared RedisService (configure the service)',
        },
      ]);
    } finally {
      void service.close();
    }
  });

  it('the constructor validates too, before connecting', () => {
    expect(() => new RedisConnector({ stream: 's', connection: { url: 'redis://' } })).to.throw(
      PolicyError,
      /connection\.url: expected redis:\/\/ or rediss:\/\/ URL with a host/,
    );
  });
});
