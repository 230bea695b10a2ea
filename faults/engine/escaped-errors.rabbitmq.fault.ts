import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireService, uniqueName } from '../../spec/support/real-service.js';
import { recordFaultResult } from '../support/fault-result.js';
import { RabbitmqQueueAudit } from './support/rabbitmq-queue-audit.js';
import { RunnerChild } from './support/runner-child.js';
import type { RunnerScenario, RunnerTaskSettings } from './support/runner-task-settings.js';

const MESSAGES = 400;
const FAULTY = 40;

describe('fault: leaked rejection / escaped throw (runTask in a child process, RabbitMQ) @slow', function () {
  let directory: string;
  const audits: RabbitmqQueueAudit[] = [];
  const children: RunnerChild[] = [];

  before(async function () {
    await requireService(this, 'rabbitmq');
    directory = mkdtempSync(join(tmpdir(), 'ergon-fault-escape-'));
  });

  after(async () => {
    for (const child of children) child.kill();
    for (const audit of audits) await audit.close();
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  const cases: readonly (readonly [RunnerScenario, string, string])[] = [
    ['leaked-rejection', 'unhandledRejection', `forgotten promise of ${FAULTY}`],
    ['escaped-throw', 'uncaughtException', `thrown in a timer callback of ${FAULTY}`],
  ];

  for (const [scenario, route, message] of cases) {
    it(`${route}: logged with its stack, the run drains and exits 1, the rest is released; a restarted run processes it (nothing lost)`, async () => {
      const audit = await RabbitmqQueueAudit.open(uniqueName(`ergon_fault_${route}`));
      audits.push(audit);
      await audit.publish(MESSAGES);
      const settings = (
        journal: string,
        faulty: number[],
        limit: number | null,
      ): RunnerTaskSettings => ({
        scenario,
        url: audit.url,
        queue: audit.queue,
        journal: join(directory, journal),
        faulty,
        concurrency: 8,
        limit,
        workMs: 20,
        timeoutMs: null,
        graceMs: 5000,
        exceptionMs: 0,
      });
      const first = new RunnerChild(settings(`${route}-1.journal`, [FAULTY], null));
      children.push(first);
      const faulted = await first.exited;
      const before = first.journal();
      const startedBefore = [...before.starts.keys()].sort((a, b) => a - b);
      const ackedBefore = before.endedAs('success');

      const second = new RunnerChild(
        settings(`${route}-2.journal`, [], MESSAGES - ackedBefore.length),
      );
      children.push(second);
      const recovered = await second.exited;
      const after = second.journal();
      const ackedAfter = after.endedAs('success');
      const deadLettered = await audit.deadLettered();
      const leftovers = await audit.leftovers(0);

      const all = [...ackedBefore, ...ackedAfter];
      const lost = MESSAGES - new Set([...all, ...deadLettered, ...leftovers]).size;
      const duplicates = all.length - new Set(all).size;
      recordFaultResult({
        fault: 'leaked rejection / synchronous throw',
        connector: `rabbitmq (runTask, ${route})`,
        runs: 1,
        messages: MESSAGES,
        lost,
        duplicates,
        duplicatesExplained: 'none',
        recoveryMs: (after.firstOutcomeAt ?? Number.NaN) - faulted.at,
        notes: `run 1 logged the ${route} and exited ${String(faulted.code)} after draining ${ackedBefore.length} started transactions (the fetched-but-unstarted ones released); run 2 processed the other ${ackedAfter.length}; recovery = run 1 exit to run 2's first outcome (process start included)`,
      });

      expect(faulted.code, 'exit code after an escaped error').to.equal(1);
      expect(faulted.stderr).to.include(`(${route}): Error: ${message}`);
      expect(faulted.stderr, 'with its stack').to.include('rabbitmq-runner-task.ts');
      expect(ackedBefore, 'every started handler drained to success').to.deep.equal(startedBefore);
      expect(ackedBefore.length, 'stopped early').to.be.below(MESSAGES);
      expect(recovered.code).to.equal(0);
      expect(lost, 'lost').to.equal(0);
      expect(duplicates, 'acked by both runs').to.equal(0);
      expect(deadLettered).to.deep.equal([]);
      expect(leftovers).to.deep.equal([]);
    });
  }
});
