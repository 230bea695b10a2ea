import { expect } from 'chai';
import type { ConsumeMessage } from 'amqplib';
import fc from 'fast-check';
import {
  decodeFailureOf,
  jsonCodec,
  PayloadDecodeError,
  type Transaction,
} from '../../lib/index.js';
import { DeliveredTransaction } from '../../lib/connectors/rabbitmq/internal/delivered-transaction.js';
import type { QueueSubscription } from '../../lib/connectors/rabbitmq/internal/queue-subscription.js';
import { PayloadColumn, rowTransaction } from '../../lib/connectors/postgres/internal/queue-row.js';
import { UnexpectedReplyError } from '../../lib/connectors/redis/errors.js';
import {
  entryTransaction,
  readGroupEntries,
} from '../../lib/connectors/redis/internal/stream-entry.js';
import { FuzzTally, SLOW_DECODE_MS } from './support/fuzz-tally.js';
import { expectedDecode, wireBody as body } from './support/wire-bodies.js';

/** amqplib header values: strings, numbers, booleans, Buffers, nested tables, timestamps. */
const headerValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
  fc.record({ '!': fc.constant('timestamp'), value: fc.integer() }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string()),
  fc.array(fc.oneof(fc.string(), fc.integer())),
);

const queueSubscription = { queue: 'fuzzed' } as unknown as QueueSubscription;

function amqpMessage(
  content: Buffer,
  headers: Record<string, unknown> | undefined,
  messageId: unknown,
): ConsumeMessage {
  return {
    content,
    fields: {
      deliveryTag: 1,
      redelivered: false,
      exchange: '',
      routingKey: 'fuzzed',
      consumerTag: 'fuzz',
    },
    properties: {
      contentType: undefined,
      contentEncoding: undefined,
      headers,
      deliveryMode: 2,
      priority: undefined,
      correlationId: undefined,
      replyTo: undefined,
      expiration: undefined,
      messageId,
      timestamp: undefined,
      type: undefined,
      userId: undefined,
      appId: undefined,
      clusterId: undefined,
    },
  };
}

/**
 * A fetched transaction is decoded exactly when `bytes` are valid JSON; otherwise it carries a
 * PayloadDecodeError and the raw body as its payload. Its metadata is always JSON.
 */
function expectDecodedOrMarked(
  tally: FuzzTally,
  tx: Transaction,
  bytes: Uint8Array,
  raw: unknown,
): void {
  const failure = decodeFailureOf(tx);
  if (expectedDecode(bytes).ok) {
    tally.accepted++;
    expect(failure).to.equal(undefined);
  } else {
    tally.rejected++;
    expect(failure).to.be.instanceOf(PayloadDecodeError);
    expect(tx.payload).to.equal(raw);
  }
  expect(() => JSON.stringify(tx.metadata)).to.not.throw();
}

describe('fault: fuzzed body decoders (fast-check, random bytes)', function () {
  const tally = new FuzzTally('body decoders (pure decode functions)');

  after(() =>
    tally.record(
      'random bytes, text and cut JSON through jsonCodec.decode, DeliveredTransaction.from (RabbitMQ, random headers and message ids), readGroupEntries and entryTransaction (Redis, random replies), rowTransaction (PostgreSQL bytea column, random headers)',
    ),
  );

  afterEach(function () {
    if (this.currentTest?.state === 'failed') tally.failures++;
    expect(tally.slowestMs, 'no decode takes long').to.be.below(SLOW_DECODE_MS);
  });

  it('jsonCodec.decode: the JSON value, or a PayloadDecodeError saying what is wrong with the body', () => {
    fc.assert(
      fc.property(body, (bytes) => {
        const expected = expectedDecode(bytes);
        let decoded: unknown;
        try {
          decoded = tally.time(() => jsonCodec.decode(bytes));
        } catch (error) {
          tally.rejected++;
          expect(expected.ok, 'rejected a valid JSON body').to.equal(false);
          expect(error).to.be.instanceOf(PayloadDecodeError);
          expect((error as Error).message).to.match(/^body is not valid (UTF-8|JSON: ".*")$/s);
          return;
        }
        tally.accepted++;
        expect(expected).to.deep.equal({ ok: true, value: decoded });
      }),
      { numRuns: 10_000 },
    );
  });

  it('jsonCodec: decode(encode(value)) is the value for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const decoded = tally.time(() => jsonCodec.decode(jsonCodec.encode(value)));
        tally.accepted++;
        expect(decoded).to.deep.equal(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 3000 },
    );
  });

  it('RabbitMQ DeliveredTransaction.from never throws: a decoded payload, or the raw body marked undecodable with a PayloadDecodeError', () => {
    fc.assert(
      fc.property(
        body,
        fc.option(fc.dictionary(fc.string({ maxLength: 12 }), headerValue, { maxKeys: 6 }), {
          nil: undefined,
        }),
        fc.oneof(fc.string(), fc.constant(undefined), fc.integer()),
        (bytes, headers, messageId) => {
          const content = Buffer.from(bytes);
          const message = amqpMessage(content, headers, messageId);
          const tx = tally.time(() =>
            DeliveredTransaction.from(
              { subscription: queueSubscription, message, deliveries: 1 },
              jsonCodec,
            ),
          );
          expect(tx.id).to.be.a('string').and.not.equal('');
          expectDecodedOrMarked(tally, tx, bytes, content);
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('Redis readGroupEntries and entryTransaction never throw on a reply of any shape: entries, or an UnexpectedReplyError', () => {
    const bytes = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
    const fieldName = fc.oneof(
      fc.constantFrom('id', 'body', 'traceparent', 'note').map((s) => Buffer.from(s)),
      bytes,
    );
    // Redis never sends an empty entry id; anything else about an entry may be garbled.
    const entryId = fc.uint8Array({ minLength: 1, maxLength: 24 }).map((b) => Buffer.from(b));
    const entry = fc.tuple(
      fc.oneof(fc.constant(Buffer.from('1-0')), entryId),
      fc.oneof(
        fc
          .array(
            fc.tuple(
              fieldName,
              fc.oneof(
                bytes,
                body.map((b) => Buffer.from(b)),
              ),
            ),
          )
          .map((pairs) => pairs.flat()),
        fc.array(bytes, { maxLength: 5 }),
        fc.constant(null),
      ),
    );
    const reply = fc.oneof(
      fc.constant(null),
      fc.array(fc.tuple(bytes, fc.array(entry, { maxLength: 4 })), { maxLength: 2 }),
      fc.anything({ maxDepth: 3 }),
    );
    fc.assert(
      fc.property(reply, (value) => {
        let entries;
        try {
          entries = tally.time(() => readGroupEntries(value));
        } catch (error) {
          tally.rejected++;
          expect(error).to.be.instanceOf(UnexpectedReplyError);
          return;
        }
        for (const fetched of entries) {
          const tx = tally.time(() =>
            entryTransaction(fetched, { stream: 's', group: 'g', consumer: 'c' }, jsonCodec),
          );
          const failure = decodeFailureOf(tx);
          if (failure === undefined) tally.accepted++;
          else {
            tally.rejected++;
            expect(failure).to.be.instanceOf(PayloadDecodeError);
          }
          expect(tx.id).to.be.a('string').and.not.equal('');
        }
      }),
      { numRuns: 4000 },
    );
  });

  it('PostgreSQL rowTransaction (bytea column) never throws: a decoded payload, or the raw bytes marked undecodable with a PayloadDecodeError', () => {
    const column = new PayloadColumn('bytea', jsonCodec);
    const headers = fc.oneof(
      fc.constant(null),
      fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(
        body,
        headers,
        fc.integer({ min: 1, max: 50 }),
        (bytes, rowHeaders, deliveries) => {
          const payload = Buffer.from(bytes);
          const tx = tally.time(() =>
            rowTransaction(
              {
                id: 'row-1',
                payload,
                headers: rowHeaders,
                deliveries,
                key: null,
                enqueued_at: Date.now(),
              },
              column,
              'fuzzed',
            ),
          );
          expectDecodedOrMarked(tally, tx, bytes, payload);
        },
      ),
      { numRuns: 4000 },
    );
  });
});
