import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireService, uniqueName } from '../../spec/support/real-service.js';
import { recordFaultResult } from '../support/fault-result.js';
import { RabbitmqQueueAudit } from './support/rabbitmq-queue-audit.js';
import { RunnerChild } from './support/runner-child.js';

const MESSAGES = 200;
const CONCURRENCY = 8;

interface GraceCase {
  readonly title: string;
  readonly exceptionMs: number;
  readonly graceMs: number;
  /** How the transactions whose `onException` was running at SIGTERM end. */
  readonly inFlightEndAs: 'exception' | 'released';
}

const cases: readonly GraceCase[] = [
  {
    title: 'within the grace: the slow exception handlers finish and their transactions are acked',
    exceptionMs: 800,
    graceMs: 5000,
    inFlightEndAs: 'exception',
  },
  {
    title: 'past the grace: the exception handlers are cut and their transactions released',
    exceptionMs: 60_000,
    graceMs: 600,
    inFlightEndAs: 'released',
  },
];

describe('fault: slow exception handler during shutdown (runTask in a child process, RabbitMQ) @slow', function () {
  let directory: string;
  const audits: RabbitmqQueueAudit[] = [];
  const children: RunnerChild[] = [];

  before(async function () {
    await requireService(this, 'rabbitmq');
    directory = mkdtempSync(join(tmpdir(), 'ergon-fault-slow-exception-'));
  });

  after(async () => {
    for (const child of children) child.kill();
    for (const audit of audits) await audit.close();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  for (const { title, exceptionMs, graceMs, inFlightEndAs } of cases) {
    it(`SIGTERM while onException is slow, ${title}; exit 143, nothing lost`, async () => {
      const audit = await RabbitmqQueueAudit.open(uniqueName('ergon_fault_slow_exception'));
      audits.push(audit);
      await audit.publish(MESSAGES);
      const child = new RunnerChild({
        scenario: 'slow-exception',
        url: audit.url,
        queue: audit.queue,
        journal: join(directory, `${inFlightEndAs}.journal`),
        faulty: [],
        concurrency: CONCURRENCY,
        limit: null,
        workMs: 0,
        timeoutMs: null,
        graceMs,
        exceptionMs,
      });
      children.push(child);
      await child.until((journal) => journal.exceptions.size >= CONCURRENCY);
      const terminatedAt = Date.now();
      child.child.kill('SIGTERM');
      const { code, at } = await child.exited;
      const journal = child.journal();
      const inException = [...journal.exceptions].sort((a, b) => a - b);
      const acked = journal.endedAs('exception');
      const released = journal.endedAs('released');
      const deadLettered = await audit.deadLettered();
      const leftovers = await audit.leftovers(MESSAGES - acked.length);

      const lost = MESSAGES - new Set([...acked, ...deadLettered, ...leftovers]).size;
      recordFaultResult({
        fault: 'slow exception handler during shutdown',
        connector: `rabbitmq (runTask, ${inFlightEndAs === 'exception' ? 'handlers within grace' : 'handlers past grace'})`,
        runs: 1,
        messages: MESSAGES,
        lost,
        duplicates: journal.duplicates,
        duplicatesExplained: 'none',
        recoveryMs: at - terminatedAt,
        notes: `onException takes ${exceptionMs} ms, grace ${graceMs} ms; ${inException.length} handlers running at SIGTERM ended ${inFlightEndAs === 'exception' ? 'acked' : 'released'}; ${leftovers.length} back in the queue; exit ${String(code)}; recovery = SIGTERM to exit`,
      });

      expect(code).to.equal(143);
      expect(at - terminatedAt, 'exit within the grace').to.be.below(graceMs + 3000);
      expect(inException.length).to.be.within(CONCURRENCY, 2 * CONCURRENCY);
      if (inFlightEndAs === 'exception') {
        expect(acked, 'every started exception handler finished').to.deep.equal(inException);
      } else {
        expect(acked, 'no exception handler finished').to.deep.equal([]);
        expect(released, 'the cut ones were released').to.include.members(inException);
      }
      expect(journal.settledTwice).to.deep.equal([]);
      expect(deadLettered).to.deep.equal([]);
      expect(leftovers, 'everything not acked is back in the queue').to.have.length(
        MESSAGES - acked.length,
      );
      expect(lost, 'lost').to.equal(0);
    });
  }
});
