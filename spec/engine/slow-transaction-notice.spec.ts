import { expect } from 'chai';
import { NEVER, of, timer, type Observable } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  type ConsumerPolicyInput,
  type Logger,
  type Transaction,
} from '../../lib/index.js';
import { consumerPolicy, retryPolicy } from '../../lib/policy/index.js';
import { slowNoticeSetting } from '../../lib/engine/internal/transaction-log.js';
import { inVirtualTime } from './support/virtual-time.js';

/** A logger keeping `level message` lines with the virtual time they were written at. */
class Lines implements Logger {
  readonly lines: string[] = [];
  constructor(private readonly now: () => number) {}
  private add(level: string, args: unknown[]): void {
    this.lines.push(`${this.now()} ${level} ${args.map(String).join(' ')}`);
  }
  trace = (...args: unknown[]): void => this.add('trace', args);
  debug = (...args: unknown[]): void => this.add('debug', args);
  info = (...args: unknown[]): void => this.add('info', args);
  warn = (...args: unknown[]): void => this.add('warn', args);
  error = (...args: unknown[]): void => this.add('error', args);
}

/** Consumes payloads 1…n where the handler of payload `k` takes `durations[k - 1]` (NEVER: hangs). */
function run(
  durations: readonly (number | 'hang')[],
  policy: ConsumerPolicyInput,
): { lines: string[]; statuses: string[] } {
  return inVirtualTime((_helpers, scheduler) => {
    const logger = new Lines(() => scheduler.now());
    const statuses: string[] = [];
    const task = consumerTask({
      name: 'slow',
      logger,
      process: (tx: Transaction<number>): Observable<number> => {
        const duration = durations[tx.payload - 1] ?? 0;
        return duration === 'hang' ? NEVER : duration === 0 ? of(1) : timer(duration);
      },
    });
    const connector = new MemoryConnector({
      source: durations.map((_, i) => i + 1),
      idPrefix: 'tx-',
    });
    consume(connector, task, { loop: { concurrency: { value: 4 } }, ...policy }).subscribe({
      next: (outcome) => statuses.push(`${outcome.transaction.id}:${outcome.status}`),
      error: (error: Error) => statuses.push(error.name),
    });
    scheduler.flush();
    return { lines: logger.lines.filter((line) => /still running/.test(line)), statuses };
  });
}

describe('slow-transaction notice (issue #16 item 7)', () => {
  it('logs a hung transaction once, at half its budget, naming it, its stage and the time (virtual time)', () => {
    const { lines, statuses } = run(['hang', 10], { transactionRuntime: { timeout: 60_000 } });
    expect(lines).to.deep.equal([
      '30000 warn transaction tx-1 still running after 30000 ms (stage process, attempt 1); its budget is 60000 ms',
    ]);
    expect(statuses).to.deep.equal(['tx-2:success', 'tx-1:timeout']);
  });

  it('nothing for transactions that finish before the threshold', () => {
    const { lines } = run([29_999, 10, 0], { transactionRuntime: { timeout: 60_000 } });
    expect(lines).to.deep.equal([]);
  });

  it('noticeAfter sets the threshold; false turns the notice off', () => {
    const set = run([500], { transactionRuntime: { timeout: null, noticeAfter: '200ms' } });
    expect(set.lines).to.deep.equal([
      '200 warn transaction tx-1 still running after 200 ms (stage process, attempt 1)',
    ]);
    const off = run(['hang'], {
      transactionRuntime: { noticeAfter: false },
      loop: { timeout: 1000 },
    });
    expect(off.lines).to.deep.equal([]);
  });

  it('without a runtime budget, half of the process retry budget (timeout × attempts), or of the loop timeout', () => {
    const retried = run(['hang'], {
      transactionRuntime: { timeout: null },
      process: { retry: { maxAttempts: 3, timeout: 1000 } },
    });
    expect(retried.lines).to.deep.equal([
      '1500 warn transaction tx-1 still running after 1500 ms (stage process, attempt 2); its budget is 3000 ms',
    ]);
    const loop = run(['hang'], { transactionRuntime: { timeout: null }, loop: { timeout: 800 } });
    expect(loop.lines).to.deep.equal([
      '400 warn transaction tx-1 still running after 400 ms (stage process, attempt 1); its budget is 800 ms',
    ]);
  });

  it('slowNoticeSetting: no budget at all → no notice', () => {
    const policy = consumerPolicy({ transactionRuntime: { timeout: null } });
    expect(slowNoticeSetting(policy.transactionRuntime, retryPolicy({}), null)).to.equal(null);
  });

  it('noticeAfter decodes "off" as false and names itself when wrong', () => {
    expect(
      consumerPolicy({ transactionRuntime: { noticeAfter: 'off' } }).transactionRuntime,
    ).to.deep.equal({
      timeout: 60_000,
      noticeAfter: false,
    });
    expect(() => consumerPolicy({ transactionRuntime: { noticeAfter: 0 } })).to.throw(
      /transactionRuntime\.noticeAfter: expected positive duration or false/,
    );
  });
});
