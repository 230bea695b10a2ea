import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  NonRetryableError,
  type ConsumerPolicyInput,
  type Transaction,
} from '../../lib/index.js';
import {
  configureLogging,
  type LoggingHandle,
  type LogLevelName,
  type LogRecord,
} from '../../lib/telemetry/index.js';
import { withLogLevelVariable } from '../support/log-level-variable.js';
import { CapturedRecords } from '../telemetry/support/captured-records.js';

const runs = 2000;
const retried: ConsumerPolicyInput = { process: { retry: { maxAttempts: 3 } } };

/** Every 20th transaction fails with a business error; the user logs one info line per 100. */
const businessTask = (failure: (n: number) => Error) =>
  consumerTask({
    name: 'orders',
    process: (tx: Transaction<number>, { logger }) => {
      if (tx.payload % 100 === 0) logger.info(`processed ${tx.payload}`);
      if (tx.payload % 20 === 0) throw failure(tx.payload);
      return tx.payload;
    },
    onException: () => 'handled',
  });

/** Runs `task` over 1…`runs` with logging captured at `level` (default: the variable unset). */
async function capture(
  task: ReturnType<typeof businessTask>,
  level: LogLevelName | undefined,
  policy: ConsumerPolicyInput = retried,
  source: Iterable<number> = Array.from({ length: runs }, (_, i) => i + 1),
): Promise<{ engine: LogRecord[]; user: LogRecord[]; statuses: string[] }> {
  const captured = new CapturedRecords();
  let logging: LoggingHandle | undefined;
  const outcomes = await withLogLevelVariable(undefined, async () => {
    logging = configureLogging(
      level === undefined ? { sinks: [captured] } : { level, sinks: [captured] },
    );
    try {
      return await lastValueFrom(
        consume(new MemoryConnector({ source, idPrefix: 'tx-' }), task, policy).pipe(toArray()),
      );
    } finally {
      await logging.shutdown();
    }
  });
  const user = captured.records.filter((record) => record.message.startsWith('processed '));
  const engine = captured.records.filter((record) => !record.message.startsWith('processed '));
  return { engine, user, statuses: outcomes.map((outcome) => outcome.status) };
}

describe('engine logging defaults (issue #16, design §4 rule 11)', () => {
  it(`${runs} transactions, 5 % NonRetryableErrors handled by onException: no engine line at the default level, every user info line`, async () => {
    const { engine, user, statuses } = await capture(
      businessTask((n) => new NonRetryableError(`order ${n} declined`)),
      undefined,
    );
    expect(statuses.filter((status) => status === 'exception')).to.have.length(runs / 20);
    expect(user, "the handlers' info lines").to.have.length(runs / 100);
    expect(engine.map((record) => `${record.level} ${record.message}`)).to.deep.equal([]);
  });

  it('at debug: one line per handled failure, with its stack, never "attempt 1 of 3" for an error that is not retried', async () => {
    const { engine } = await capture(
      businessTask((n) => new NonRetryableError(`order ${n} declined`)),
      'debug',
    );
    const failures = engine.filter((record) => /declined/.test(record.message));
    expect(failures).to.have.length(runs / 20);
    for (const record of failures) {
      expect(record.level).to.equal('debug');
      expect(record.message).to.match(
        /^process failed \(not retried\): NonRetryableError: order \d+ declined$/,
      );
      expect(record.error?.stack, 'the stack at debug').to.be.a('string');
    }
    expect(engine.some((record) => / of 3/.test(record.message))).to.equal(false);
  });

  it('an error that is retried: one warn line per retried attempt, without a stack; the last attempt only at debug', async () => {
    const { engine } = await capture(
      businessTask((n) => new Error(`gateway busy for ${n}`)),
      undefined,
      { process: { retry: { maxAttempts: 3, backoff: 1 } } },
      [20, 21],
    );
    expect(engine.map((record) => [record.level, record.message, record.error])).to.deep.equal([
      [
        'warn',
        'process attempt 1 of 3 failed, retrying in 1 ms: Error: gateway busy for 20',
        undefined,
      ],
      [
        'warn',
        'process attempt 2 of 3 failed, retrying in 2 ms: Error: gateway busy for 20',
        undefined,
      ],
    ]);
  });

  it('a transaction onException could not handle: one error line saying it is dead-lettered', async () => {
    const task = consumerTask({
      name: 'orders',
      process: (tx: Transaction<number>) => {
        throw new NonRetryableError(`order ${tx.payload} declined`);
      },
      onException: () => {
        throw new Error('audit table is gone');
      },
    });
    const { engine, statuses } = await capture(task, undefined, {}, [7]);
    expect(statuses).to.deep.equal(['failed']);
    expect(engine.map((record) => record.level)).to.deep.equal(['error']);
    expect(engine[0]?.message).to.match(
      /^transaction tx-1 failed and is dead-lettered: .*audit table is gone/,
    );
    expect(engine[0]?.error, 'no stack below debug').to.equal(undefined);
  });
});
