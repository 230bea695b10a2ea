import { expect } from 'chai';
import { jsonCodec } from '../../../lib/index.js';
import {
  NatsConnector,
  natsConnectorConfig,
  natsServiceConfig,
} from '../../../lib/connectors/nats/index.js';
import { parseDeliveryInfo } from '../../../lib/connectors/nats/internal/jetstream-delivery.js';
import { subjectMatches } from '../../../lib/connectors/nats/internal/nats-names.js';
import { catchPolicyError, issueLines } from '../../policy/catch-policy-error.js';

describe('natsConnectorConfig', () => {
  it('fills defaults from the stream name', () => {
    const config = natsConnectorConfig({ stream: 'ORDERS' });
    expect(config).to.deep.include({
      url: ['nats://127.0.0.1:4222'],
      stream: 'ORDERS',
      subjects: ['ORDERS'],
      subject: 'ORDERS',
      consumer: 'ORDERS_ergon',
      filterSubject: null,
      retention: 'workqueue',
      storage: 'file',
      duplicateWindow: 120_000,
      declare: true,
      ackWait: 30_000,
      maxAckPending: 1000,
      fetchWait: 1000,
      maxDeliveries: 5,
      releaseDelay: 0,
      ackConfirm: false,
      renewLease: true,
      deadLetter: { stream: 'ORDERS_DEAD', subject: 'ORDERS_DEAD' },
      connectTimeout: 5000,
      requestTimeout: 5000,
      pingInterval: 30_000,
    });
    expect(config.reconnect).to.deep.equal({
      backoff: 250,
      backoffMultiplier: 2,
      backoffCap: 5000,
      jitter: 'equal',
    });
    expect(config.codec).to.equal(jsonCodec);
  });

  it('accepts env-style strings and decodes a decoded config to an equal one', () => {
    const config = natsConnectorConfig({
      url: 'nats://a:4222, b:4223',
      stream: 'ORDERS',
      subjects: 'orders.>, refunds.*',
      subject: 'orders.new',
      ackWait: '10s',
      maxAckPending: '64',
      ackConfirm: 'yes',
      retention: 'Limits',
    });
    expect(config.url).to.deep.equal(['nats://a:4222', 'nats://b:4223']);
    expect(config.subjects).to.deep.equal(['orders.>', 'refunds.*']);
    expect(config).to.deep.include({ ackWait: 10_000, maxAckPending: 64, ackConfirm: true });
    expect(config.retention).to.equal('limits');
    expect(natsConnectorConfig(config)).to.deep.equal(config);
  });

  it('has no dispatch subject when the first subject has wildcards', () => {
    expect(natsConnectorConfig({ stream: 'ORDERS', subjects: ['orders.>'] }).subject).to.equal(
      null,
    );
  });

  it('rejects a bad URL, a missing stream and a zero prefetch, naming each path', () => {
    expect(
      issueLines(() =>
        natsConnectorConfig({ url: 'http://x', maxAckPending: 0 } as unknown as { stream: string }),
      ),
    ).to.deep.equal([
      'url: expected NATS server URL(s) such as "nats://127.0.0.1:4222", got "http://x"',
      'stream: expected JetStream name (no whitespace, ".", "*", ">", "/" or "\\"), got undefined',
      'maxAckPending: expected positive integer, got 0',
    ]);
  });

  it('rejects wrong values and unknown keys at their paths', () => {
    const error = catchPolicyError(() =>
      natsConnectorConfig({
        stream: 'a.b',
        subjects: ['ok', 'bad subject'],
        fetchWait: 0,
        maxDeliveries: -1,
        retention: 'forever',
        deadLetter: { subject: 'x.*' },
        codec: { encode: () => new Uint8Array() },
        prefetch: 10,
      } as never),
    );
    expect(error.issues.map((issue) => issue.path)).to.deep.equal([
      'stream',
      'subjects',
      'retention',
      'fetchWait',
      'maxDeliveries',
      'deadLetter.subject',
      'codec',
      'prefetch',
    ]);
  });

  it('checks subjects against each other', () => {
    expect(
      catchPolicyError(() =>
        natsConnectorConfig({
          stream: 'ORDERS',
          subjects: ['orders.>'],
          subject: 'refunds.new',
          filterSubject: 'refunds.*',
          deadLetter: { stream: 'ORDERS', subject: 'orders.dead' },
        }),
      ).issues.map((issue) => issue.path),
    ).to.deep.equal(['subject', 'filterSubject', 'deadLetter.subject', 'deadLetter.stream']);
  });

  it('is what the connector constructor throws, before any connection', () => {
    expect(() => new NatsConnector({ stream: '' })).to.throw(/stream: expected JetStream name/);
  });

  it('decodes the service part on its own', () => {
    expect(natsServiceConfig({ url: ['tls://nats.internal'] }).url).to.deep.equal([
      'tls://nats.internal',
    ]);
    expect(() => natsServiceConfig({ stream: 'x' } as never)).to.throw(/stream: expected/);
  });
});

describe('NATS subjects and delivery info', () => {
  it('matches subjects against filters', () => {
    expect(subjectMatches('orders.>', 'orders.eu.created')).to.equal(true);
    expect(subjectMatches('orders.*', 'orders.eu.created')).to.equal(false);
    expect(subjectMatches('orders.*.created', 'orders.eu.created')).to.equal(true);
    expect(subjectMatches('orders', 'orders.eu')).to.equal(false);
    expect(subjectMatches('orders.>', 'orders')).to.equal(false);
  });

  it('parses both forms of the ack subject', () => {
    expect(parseDeliveryInfo('$JS.ACK.ORDERS.workers.2.41.57.1700000000123456789.3')).to.deep.equal(
      {
        stream: 'ORDERS',
        consumer: 'workers',
        deliveryCount: 2,
        streamSequence: 41,
        timestamp: 1_700_000_000_123,
        pending: 3,
      },
    );
    expect(
      parseDeliveryInfo('$JS.ACK.hub.ACCHASH.ORDERS.workers.1.7.7.1700000000000000000.0.xyz'),
    ).to.include({ stream: 'ORDERS', deliveryCount: 1, streamSequence: 7 });
    expect(parseDeliveryInfo('_INBOX.abc')).to.equal(undefined);
    expect(parseDeliveryInfo(undefined)).to.equal(undefined);
  });
});
