import { expect } from 'chai';
import log from 'loglevel';
import sinon from 'sinon';
import { context, trace } from '@opentelemetry/api';
import {
  ConsoleLogSink,
  configureLogging,
  formatterFor,
  getLogger,
  setupTelemetry,
  withTaskName,
  withTransactionId,
  type LogSink,
  type TelemetryHandle,
} from '../../lib/telemetry/index.js';
import { CapturedLines } from './support/captured-lines.js';
import { CapturedRecords } from './support/captured-records.js';

describe('JSON log records', () => {
  let telemetry: TelemetryHandle | undefined;
  let stdout: CapturedLines;
  let stderr: CapturedLines;
  let captured: CapturedRecords;

  const start = (level = 'info', extraSinks: LogSink[] = []): void => {
    stdout = new CapturedLines();
    stderr = new CapturedLines();
    captured = new CapturedRecords();
    const consoleSink = new ConsoleLogSink(formatterFor('json'), stdout, stderr);
    telemetry = setupTelemetry(
      {
        resource: { taskName: 'orders' },
        logs: { level, sinks: [consoleSink, captured, ...extraSinks] },
      },
      { env: {} },
    );
  };
  const lastJson = (lines: CapturedLines): Record<string, unknown> =>
    JSON.parse(lines.lines.at(-1) ?? '{}') as Record<string, unknown>;

  afterEach(async () => {
    await telemetry?.shutdown();
    telemetry = undefined;
  });

  it('has timestamp, level, logger, message, task and the trailing object as fields', () => {
    start();
    const before = Date.now();
    getLogger('ergon.orders').info('saved order %s', 'o-1', { amount: 12.5, tags: ['a'] });
    const record = lastJson(stdout);
    expect(Object.keys(record)).to.deep.equal([
      'timestamp',
      'level',
      'logger',
      'message',
      'task',
      'amount',
      'tags',
    ]);
    expect(record).to.deep.include({
      level: 'INFO',
      logger: 'ergon.orders',
      message: 'saved order o-1',
      task: 'orders',
      amount: 12.5,
      tags: ['a'],
    });
    const timestamp = Date.parse(String(record['timestamp']));
    expect(record['timestamp']).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(timestamp).to.be.within(before, Date.now());
  });

  it('sends info and below to stdout, warn and error to stderr', () => {
    start('trace');
    const logger = getLogger('levels');
    logger.trace('t');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(stdout.lines.map((line) => (JSON.parse(line) as { level: string }).level)).to.deep.equal(
      ['TRACE', 'DEBUG', 'INFO'],
    );
    expect(stderr.lines.map((line) => (JSON.parse(line) as { level: string }).level)).to.deep.equal(
      ['WARN', 'ERROR'],
    );
  });

  it('turns an Error argument into error {type, message, stack, cause}', () => {
    start();
    const failure = new TypeError('card declined', { cause: new Error('gateway 502') });
    getLogger('payments').error('charge failed', failure, { order: 'o-1' });
    const record = lastJson(stderr);
    expect(record['message']).to.equal('charge failed');
    expect(record['order']).to.equal('o-1');
    const error = record['error'] as Record<string, unknown>;
    expect(error).to.include({ type: 'TypeError', message: 'card declined' });
    expect(error['stack']).to.match(/^TypeError: card declined\n\s+at /);
    expect(error['cause']).to.include({ type: 'Error', message: 'gateway 502' });

    getLogger('payments').error(new RangeError('alone'));
    expect(lastJson(stderr)).to.deep.include({ message: 'alone' });
  });

  it('keeps user fields that collide with record keys under "fields", and never throws', () => {
    start();
    const cyclic: Record<string, unknown> = { big: 2n ** 70n };
    cyclic['self'] = cyclic;
    const throwing = {
      toJSON(): never {
        throw new Error('no JSON for you');
      },
    };
    const logger = getLogger('odd');
    logger.info('odd fields', { level: 'mine', message: 'also mine', node: cyclic });
    const record = lastJson(stdout);
    expect(record).to.deep.include({ level: 'INFO', message: 'odd fields' });
    expect(record['fields']).to.deep.equal({ level: 'mine', message: 'also mine' });
    expect(record['node']).to.deep.equal({ big: '1180591620717411303424', self: '[Circular]' });

    expect(() => logger.info('throwing toJSON', { value: throwing })).not.to.throw();
    expect(lastJson(stdout)).to.deep.include({
      message: 'throwing toJSON',
      fields: '[unserializable fields]',
    });
  });

  it('carries trace_id and span_id of the active span', () => {
    start();
    const tracer = trace.getTracer('spec');
    tracer.startActiveSpan('handler', (span) => {
      getLogger('traced').info('inside');
      span.end();
    });
    const record = lastJson(stdout);
    const [span] = captured.records.filter((r) => r.message === 'inside');
    expect(span?.traceId).to.match(/^[0-9a-f]{32}$/);
    expect(record).to.deep.include({
      trace_id: span?.traceId,
      span_id: span?.spanId,
      trace_flags: '01',
    });
    getLogger('traced').info('outside');
    expect(lastJson(stdout)).not.to.have.property('trace_id');
  });

  it('sees the attempt span and transaction id inside a setTimeout started within context.with', async () => {
    start();
    const span = trace.getTracer('spec').startSpan('process attempt');
    const attempt = withTaskName(
      withTransactionId(trace.setSpan(context.active(), span), 'order-17'),
      'charge-orders',
    );
    await new Promise<void>((resolve) => {
      context.with(attempt, () => {
        setTimeout(() => {
          getLogger('ergon.charge-orders').info('charged later');
          resolve();
        }, 5);
      });
    });
    span.end();
    const record = lastJson(stdout);
    expect(record).to.deep.include({
      message: 'charged later',
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
      transaction_id: 'order-17',
      task: 'charge-orders',
    });
  });

  it('filters by level, and lets a declarative sink be stricter than the logging level', () => {
    captured = new CapturedRecords();
    const written: string[] = [];
    const write = sinon.stub(process.stdout, 'write').callsFake((text: string | Uint8Array) => {
      written.push(String(text));
      return true;
    });
    const writeError = sinon
      .stub(process.stderr, 'write')
      .callsFake((text: string | Uint8Array) => {
        written.push(String(text));
        return true;
      });
    const logging = configureLogging({
      level: 'debug',
      format: 'pretty',
      sinks: [captured, { type: 'console', level: 'warn', format: 'json' }],
    });
    try {
      const logger = getLogger('filtered');
      logger.trace('below the logging level');
      logger.debug('below the console level');
      logger.warn('everywhere');
    } finally {
      write.restore();
      writeError.restore();
      void logging.shutdown();
    }
    expect(captured.messages).to.deep.equal(['below the console level', 'everywhere']);
    expect(written).to.have.length(1);
    expect(JSON.parse(written[0] ?? '')).to.include({ level: 'WARN', message: 'everywhere' });
  });

  it('routes loggers created before configuration (the engine default) and gives them back after', async () => {
    const engineLogger = log.getLogger('ergon.early-task');
    const originalFactory = engineLogger.methodFactory;
    const originalLevel = log.getLevel();
    start('debug');
    engineLogger.debug('from the engine');
    expect(captured.messages).to.deep.equal(['from the engine']);
    expect(captured.records[0]?.logger).to.equal('ergon.early-task');
    await telemetry?.shutdown();
    telemetry = undefined;
    expect(engineLogger.methodFactory).to.equal(originalFactory);
    expect(log.getLevel()).to.equal(originalLevel);
    engineLogger.debug('not captured: loglevel is back at its own level');
    expect(captured.messages).to.deep.equal(['from the engine']);
  });

  it('reports a failing sink once as a process warning and never throws into the caller', () => {
    const emitWarning = sinon.stub(process, 'emitWarning');
    try {
      start('info', [
        {
          write: () => {
            throw new Error('disk on fire');
          },
        },
      ]);
      const logger = getLogger('resilient');
      expect(() => logger.info('one')).not.to.throw();
      expect(() => logger.info('two')).not.to.throw();
      expect(captured.messages, 'the other sinks still get the records').to.deep.equal([
        'one',
        'two',
      ]);
      expect(emitWarning.callCount).to.equal(1);
      expect(String(emitWarning.firstCall.args[0])).to.contain('disk on fire');
    } finally {
      emitWarning.restore();
    }
  });

  it('replaces the previous configuration when configured again', async () => {
    const first = new CapturedRecords();
    const second = new CapturedRecords();
    const firstHandle = configureLogging({ level: 'info', sinks: [first] });
    const secondHandle = configureLogging({ level: 'info', sinks: [second] });
    getLogger('replaced').info('to the second');
    await firstHandle.shutdown();
    getLogger('replaced').info('still the second');
    await secondHandle.shutdown();
    expect(first.messages).to.deep.equal([]);
    expect(second.messages).to.deep.equal(['to the second', 'still the second']);
  });
});
