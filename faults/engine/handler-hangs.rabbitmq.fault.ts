import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireService, uniqueName } from '../../spec/support/real-service.js';
import { recordFaultResult } from '../support/fault-result.js';
import { RabbitmqQueueAudit } from './support/rabbitmq-queue-audit.js';
import { RunnerChild } from './support/runner-child.js';

const MESSAGES = 300;
const CONCURRENCY = 8;
const TIMEOUT_MS = 300;
/** Every 20th delivery hangs for good, ignoring its abort signal. */
const HUNG = Array.from({ length: MESSAGES }, (_, n) => n).filter((n) => n % 20 === 7);

describe('fault: handler hangs (runTask in a child process, RabbitMQ)', function () {
  let audit: RabbitmqQueueAudit | undefined;
  let child: RunnerChild | undefined;
  let directory: string;

  before(async function () {
    await requireService(this, 'rabbitmq');
    directory = mkdtempSync(join(tmpdir(), 'ergon-fault-hang-'));
  });

  after(async () => {
    child?.kill();
    await audit?.close();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  it('each hung handler is timed out and dead-lettered (no onException), the others are acked, the run completes and exits 0', async () => {
    audit = await RabbitmqQueueAudit.open(uniqueName('ergon_fault_hang'));
    await audit.publish(MESSAGES);
    const started = Date.now();
    child = new RunnerChild({
      scenario: 'hang',
      url: audit.url,
      queue: audit.queue,
      journal: join(directory, 'hang.journal'),
      faulty: HUNG,
      concurrency: CONCURRENCY,
      limit: MESSAGES,
      workMs: 10,
      timeoutMs: TIMEOUT_MS,
      graceMs: 5000,
      exceptionMs: 0,
    });
    const { code, at } = await child.exited;
    const journal = child.journal();
    const deadLettered = await audit.deadLettered();
    const leftovers = await audit.leftovers(0);
    const acked = journal.endedAs('success');
    const lost = MESSAGES - new Set([...acked, ...deadLettered, ...leftovers]).size;
    recordFaultResult({
      fault: 'handler hangs',
      connector: 'rabbitmq (runTask child process)',
      runs: HUNG.length,
      messages: MESSAGES,
      lost,
      duplicates: journal.duplicates,
      duplicatesExplained: journal.duplicates === 0 ? 'none' : 'redeliveries',
      recoveryMs: null,
      notes: `${HUNG.length} handlers hung ignoring their signal; each timed out after ${TIMEOUT_MS} ms and was dead-lettered; ${acked.length} acked; exit ${String(code)} after ${at - started} ms (process start included)`,
    });

    expect(code).to.equal(0);
    expect(journal.endedAs('timeout'), 'timed out').to.deep.equal(HUNG);
    expect(deadLettered, 'dead-lettered').to.deep.equal(HUNG);
    expect(acked).to.have.length(MESSAGES - HUNG.length);
    expect(leftovers, 'left in the queue').to.deep.equal([]);
    expect(lost, 'lost').to.equal(0);
    expect(journal.settledTwice, 'settled twice').to.deep.equal([]);
    // 15 hangs over 8 slots cost at least 2 timeouts; slots held by hung handlers for good
    // would stall the run after the 8th hang instead of letting it complete.
    expect(at - started).to.be.below(30_000);
  });
});
