import { expect } from 'chai';
import { trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { defer, from, lastValueFrom, map, mergeMap, timer, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  type Outcome,
  type Transaction,
} from '../../../lib/index.js';
import {
  configureLogging,
  formatJsonLine,
  getLogger,
  type LoggingHandle,
  type LogRecord,
} from '../../../lib/telemetry/index.js';
import { CapturedRecords } from '../../telemetry/support/captured-records.js';
import {
  attribute,
  childrenOf,
  installOtel,
  spanId,
  traceId,
  transactionSpan,
  type InstalledOtel,
} from './support/otel.js';

/** Where one handler attempt looked at the active span, and what it saw there. */
interface Probe {
  readonly transaction: string;
  readonly attempt: number;
  readonly seen: Record<string, string>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const activeSpanId = (): string => trace.getActiveSpan()?.spanContext().spanId ?? 'none';

/**
 * A task whose process looks at the active span synchronously, in a `setTimeout`, after an
 * `await`, and in an RxJS `timer` callback, and logs from the `setTimeout` (with `getLogger`)
 * and from a promise continuation (with its `context.logger`). Transaction `b` fails its first
 * attempt after all that.
 */
function probingTask(probes: Probe[]) {
  const logger = getLogger('spec.handler');
  return consumerTask({
    name: 'probe',
    process: (tx: Transaction<string>, ctx) => {
      const probe: Probe = { transaction: tx.id, attempt: ctx.attempt, seen: {} };
      probes.push(probe);
      probe.seen['sync'] = activeSpanId();
      const inTimeout = new Promise<void>((resolve) => {
        setTimeout(() => {
          probe.seen['setTimeout'] = activeSpanId();
          logger.info('inside setTimeout', { payload: tx.payload });
          resolve();
        }, 1);
      });
      const continued = inTimeout.then(async () => {
        await sleep(1);
        probe.seen['promise'] = activeSpanId();
        ctx.logger.info('after an await');
      });
      return from(continued).pipe(
        mergeMap(() => timer(1)),
        map(() => {
          probe.seen['observable'] = activeSpanId();
          if (tx.payload === 'b' && ctx.attempt === 1) throw new Error('gateway busy, try again');
          return tx.payload;
        }),
      );
    },
  });
}

/** Runs `a`, `b`, `c` through the probing task, one at a time (the later ones queue). */
async function runProbes(probes: Probe[]): Promise<Outcome[]> {
  const connector = new MemoryConnector<string>({
    record: true,
    idPrefix: 'tx-',
    source: ['a', 'b', 'c'],
  });
  return lastValueFrom(
    consume(connector, probingTask(probes), {
      loop: { mode: 'batch', concurrency: { value: 1 } },
      fetch: { batch: { size: 3 } },
      process: { retry: { maxAttempts: 2 } },
    }).pipe(toArray()),
  );
}

/** The attempt span of `transaction`'s attempt number `attempt`. */
function attemptSpan(spans: readonly ReadableSpan[], transaction: string, attempt: number) {
  const found = childrenOf(spans, transactionSpan(spans, 'probe', transaction)).filter(
    (span) => span.name === 'process attempt' && attribute(span, 'ergon.attempt') === attempt,
  );
  expect(found, `${transaction} attempt ${attempt}`).to.have.length(1);
  return found[0] as ReadableSpan;
}

describe('engine telemetry: the context inside handlers (real timers)', () => {
  let otel: InstalledOtel;
  let logging: LoggingHandle;
  let captured: CapturedRecords;

  beforeEach(() => {
    otel = installOtel({ metrics: false });
    captured = new CapturedRecords();
    logging = configureLogging({ level: 'info', sinks: [captured] });
  });

  afterEach(async () => {
    await logging.shutdown();
    await otel.release();
  });

  it("trace.getActiveSpan() is the attempt's span, also in setTimeout, promises and Observables", async () => {
    const probes: Probe[] = [];
    const outcomes = await runProbes(probes);
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal([
      'success',
      'success',
      'success',
    ]);
    const spans = otel.spans();
    expect(probes.map((probe) => `${probe.transaction}#${probe.attempt}`)).to.deep.equal([
      'tx-1#1',
      'tx-2#1',
      'tx-2#2',
      'tx-3#1',
    ]);
    for (const probe of probes) {
      const expected = spanId(attemptSpan(spans, probe.transaction, probe.attempt));
      expect(probe.seen, `${probe.transaction} attempt ${probe.attempt}`).to.deep.equal({
        sync: expected,
        setTimeout: expected,
        promise: expected,
        observable: expected,
      });
    }
  });

  it("a log line written in the handler's setTimeout carries trace_id, span_id and transaction_id", async () => {
    const probes: Probe[] = [];
    await runProbes(probes);
    const spans = otel.spans();
    const fromTimeouts = captured.records.filter(
      (record) => record.message === 'inside setTimeout',
    );
    expect(fromTimeouts).to.have.length(4);
    fromTimeouts.forEach((record: LogRecord, index) => {
      const probe = probes[index] as Probe;
      const span = attemptSpan(spans, probe.transaction, probe.attempt);
      expect(record).to.deep.include({
        logger: 'spec.handler',
        traceId: traceId(span),
        spanId: spanId(span),
        transactionId: probe.transaction,
        task: 'probe',
      });
      const json = JSON.parse(formatJsonLine(record)) as Record<string, unknown>;
      expect(json).to.deep.include({
        trace_id: traceId(span),
        span_id: spanId(span),
        transaction_id: probe.transaction,
        task: 'probe',
        payload: record.fields['payload'],
      });
    });
  });

  it("context.logger in a promise continuation carries the attempt's ids too", async () => {
    const probes: Probe[] = [];
    await runProbes(probes);
    const spans = otel.spans();
    const afterAwait = captured.records.filter((record) => record.message === 'after an await');
    expect(afterAwait.map((record) => record.logger)).to.deep.equal([
      'ergon.probe',
      'ergon.probe',
      'ergon.probe',
      'ergon.probe',
    ]);
    afterAwait.forEach((record, index) => {
      const probe = probes[index] as Probe;
      const span = attemptSpan(spans, probe.transaction, probe.attempt);
      expect([record.traceId, record.spanId, record.transactionId]).to.deep.equal([
        traceId(span),
        spanId(span),
        probe.transaction,
      ]);
    });
  });

  it('outside any handler, a log record has no span and no transaction id', async () => {
    await runProbes([]);
    getLogger('spec.outside').info('after the run');
    const record = captured.records.at(-1) as LogRecord;
    expect(record.message).to.equal('after the run');
    expect(record.traceId).to.equal(undefined);
    expect(record.transactionId).to.equal(undefined);
  });

  it('the engine logs each failed attempt once, with the error and its trace ids (issue #4, Build 3)', async () => {
    const probes: Probe[] = [];
    await runProbes(probes);
    const spans = otel.spans();
    const failed = captured.records.filter((record) =>
      /gateway busy, try again/.test(record.message),
    );
    expect(failed, 'log records about the failed attempt').to.have.length(1);
    const record = failed[0] as LogRecord;
    expect(record.level).to.equal('warn');
    expect(record.message).to.match(/^process attempt 1 of \d+ failed, retrying in \d+ ms: /);
    expect(record.error, 'no stack below debug').to.equal(undefined);
    const transaction = transactionSpan(spans, 'probe', 'tx-2');
    expect(record.transactionId).to.equal('tx-2');
    expect(record.traceId).to.equal(traceId(transaction));
    expect([spanId(attemptSpan(spans, 'tx-2', 1)), spanId(transaction)]).to.include(record.spanId);
  });
});

describe('engine telemetry: a context manager without a tracer (logs only, real timers)', () => {
  let otel: InstalledOtel;
  let logging: LoggingHandle;
  let captured: CapturedRecords;

  beforeEach(() => {
    otel = installOtel({ tracing: false, metrics: false });
    captured = new CapturedRecords();
    logging = configureLogging({ level: 'info', sinks: [captured] });
  });

  afterEach(async () => {
    await logging.shutdown();
    await otel.release();
  });

  it("log lines from a handler's setTimeout still carry the transaction id and task", async () => {
    const logger = getLogger('spec.untraced');
    const task = consumerTask({
      name: 'untraced',
      process: (tx: Transaction<string>) =>
        defer(
          () =>
            new Promise<string>((resolve) =>
              setTimeout(() => {
                logger.info('no tracer here');
                resolve(tx.payload);
              }, 1),
            ),
        ),
    });
    const connector = new MemoryConnector<string>({
      record: true,
      idPrefix: 'tx-',
      source: ['a', 'b'],
    });
    await lastValueFrom(
      consume(connector, task, { loop: { concurrency: { value: 1 } } }).pipe(toArray()),
    );
    const records = captured.records.filter((record) => record.message === 'no tracer here');
    expect(records.map((record) => [record.transactionId, record.task])).to.deep.equal([
      ['tx-1', 'untraced'],
      ['tx-2', 'untraced'],
    ]);
    expect(records.map((record) => record.traceId)).to.deep.equal([undefined, undefined]);
    expect(otel.spans()).to.deep.equal([]);
  });
});
