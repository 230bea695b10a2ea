import { expect } from 'chai';
import { trace } from '@opentelemetry/api';
import { from, lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  dispatchTo,
  MemoryConnector,
  processWith,
  produce,
  producerTask,
  type Transaction,
} from '../../../lib/index.js';
import { configureLogging, type LoggingHandle } from '../../../lib/telemetry/index.js';
import { CapturedRecords } from '../../telemetry/support/captured-records.js';
import { installOtel, type InstalledOtel } from './support/otel.js';

/** A task that logs from its handler and records whether a span was active there. */
function loggingTask(activeSpans: (string | undefined)[]) {
  return consumerTask({
    name: 'hot',
    process: async (tx: Transaction<string>, { logger }) => {
      activeSpans.push(trace.getActiveSpan()?.spanContext().spanId);
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info('handled', { payload: tx.payload });
      return tx.payload;
    },
  });
}

describe('engine telemetry: EngineOptions.traces = false', () => {
  let otel: InstalledOtel;
  let logging: LoggingHandle;
  let captured: CapturedRecords;

  beforeEach(() => {
    otel = installOtel();
    captured = new CapturedRecords();
    logging = configureLogging({ level: 'info', sinks: [captured] });
  });

  afterEach(async () => {
    await logging.shutdown();
    await otel.release();
  });

  it('consume starts no span, yet counts its transactions and logs their ids', async () => {
    const activeSpans: (string | undefined)[] = [];
    const outcomes = await lastValueFrom(
      consume(
        new MemoryConnector({ source: ['a', 'b', 'c'] }),
        loggingTask(activeSpans),
        { loop: { mode: 'continuous', concurrency: { value: 2 } } },
        { traces: false },
      ).pipe(toArray()),
    );
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal([
      'success',
      'success',
      'success',
    ]);
    expect(otel.spans()).to.deep.equal([]);
    expect(activeSpans).to.deep.equal([undefined, undefined, undefined]);
    const metrics = await otel.reader.ergonMetrics();
    expect(metrics.sum('consumer.transactions.total', { task: 'hot', status: 'success' })).to.equal(
      3,
    );
    const handled = captured.records.filter((record) => record.message === 'handled');
    expect(handled).to.have.length(3);
    for (const record of handled) {
      expect(record.transactionId).to.be.a('string');
      expect(record.task).to.equal('hot');
      expect(record.traceId).to.equal(undefined);
    }
  });

  it('the same run with the default (traces on) starts a span per transaction and attempt', async () => {
    const activeSpans: (string | undefined)[] = [];
    await lastValueFrom(
      consume(new MemoryConnector({ source: ['a', 'b'] }), loggingTask(activeSpans), {
        loop: { mode: 'continuous', concurrency: { value: 2 } },
      }).pipe(toArray()),
    );
    const names = otel.spans().map((span) => span.name);
    expect(names.filter((name) => name === 'process hot')).to.have.length(2);
    expect(names.filter((name) => name === 'process attempt')).to.have.length(2);
    expect(activeSpans.every((id) => typeof id === 'string')).to.equal(true);
  });

  it('processWith, produce and dispatchTo start no span either (they do by default)', async () => {
    const sink = new MemoryConnector<string>({});
    const runAll = async (traces: boolean | undefined): Promise<void> => {
      await lastValueFrom(
        from(['x']).pipe(
          produce(sink, producerTask<string>({ name: 'hot-producer' }), {}, { traces }),
        ),
      );
      await lastValueFrom(from([createTransaction('y')]).pipe(dispatchTo(sink, {}, { traces })));
      const source = new MemoryConnector<string>({ source: ['z'] });
      await lastValueFrom(
        source.fetch({ size: 1, extra: {} }).pipe(processWith(loggingTask([]), {}, { traces })),
      );
    };
    await runAll(false);
    expect(otel.spans()).to.deep.equal([]);
    const metrics = await otel.reader.ergonMetrics();
    expect(metrics.sum('producer.transactions.total', { task: 'hot-producer' })).to.equal(1);
    await runAll(undefined);
    const names = new Set(otel.spans().map((span) => span.name));
    expect([...names]).to.include.members([
      'produce hot-producer',
      'send dispatchTo',
      'consume hot',
    ]);
  });
});
