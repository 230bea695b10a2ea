import { expect } from 'chai';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { formatPrettyLine, type LogRecord } from '../../lib/telemetry/index.js';

describe('formatPrettyLine', () => {
  const at = new Date(2026, 10, 27, 12, 0, 1, 123);
  const record = (overrides: Partial<LogRecord> = {}): LogRecord => ({
    timestamp: at,
    level: 'info',
    logger: 'ergon.orders',
    message: 'saved',
    fields: {},
    context: ROOT_CONTEXT,
    ...overrides,
  });

  it('prints local time, padded level, logger and message', () => {
    expect(formatPrettyLine(record())).to.equal('12:00:01.123 INFO  ergon.orders saved');
    expect(formatPrettyLine(record({ level: 'error' }))).to.equal(
      '12:00:01.123 ERROR ergon.orders saved',
    );
  });

  it('adds a short trace id, the transaction and the fields', () => {
    expect(
      formatPrettyLine(
        record({
          traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
          spanId: '00f067aa0ba902b7',
          transactionId: 'order-1',
          fields: { id: 7, big: 1n },
        }),
      ),
    ).to.equal(
      '12:00:01.123 INFO  ergon.orders [trace=4bf92f35… tx=order-1] saved {"id":7,"big":"1"}',
    );
  });

  it('prints the error stack and its cause on the following lines, indented', () => {
    const line = formatPrettyLine(
      record({
        level: 'warn',
        message: 'retrying',
        error: {
          type: 'Error',
          message: 'busy',
          stack: 'Error: busy\n    at charge (pay.ts:3:9)',
          cause: { type: 'SocketError', message: 'reset' },
        },
      }),
    );
    expect(line.split('\n')).to.deep.equal([
      '12:00:01.123 WARN  ergon.orders retrying',
      '    Error: busy',
      '    at charge (pay.ts:3:9)',
      '    caused by:',
      '    SocketError: reset',
    ]);
  });
});
