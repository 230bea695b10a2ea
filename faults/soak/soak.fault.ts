/**
 * The soak of issue #8: N uniquely numbered transactions (`ERGON_SOAK_MESSAGES`, 2 000 000 by
 * default) through RabbitMQ → task → PostgreSQL, with 1 % of the handler's attempts failing.
 *
 * - The worker (soak-worker.ts) is a child process run by `runTask`, stopped by SIGTERM once
 *   every transaction settled; it samples itself every second and sends the samples over IPC.
 * - This process publishes 1…N with publisher confirms, at most `SOAK_PUBLISH_WINDOW` ahead of
 *   the worker.
 * - Lost: ids 1…N without a row in the PostgreSQL table. Duplicates: successful processings
 *   beyond one per row (the table's primary key keeps one row per id, so a redelivered
 *   transaction shows as an extra success, not an extra row).
 * - Failed for good (all 5 attempts failed): dead-lettered, since the task has no onException;
 *   the spec expects none, and an empty dead-letter queue.
 * - Flat after warm-up: see `SOAK_FLATNESS` and `soakWarmupSeconds`.
 */
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { RabbitmqConnector } from '../../lib/connectors/rabbitmq/index.js';
import { BrokerProbe } from '../../spec/connectors/rabbitmq/fixtures/broker.js';
import { requireService, uniqueName } from '../../spec/support/real-service.js';
import { recordSoakResult, type SoakSample } from '../support/fault-result.js';
import { assessFlatness, describeFlatness, type Flatness } from './flatness.js';
import { auditLedger } from './ledger-audit.js';
import { publishPaced } from './paced-publisher.js';
import { SOAK_PLOT_PATH, writeSoakPlot } from './soak-plot.js';
import type { SoakMessage } from './soak-message.js';
import { SoakWorkerProcess } from './soak-worker-process.js';
import {
  SOAK_FAILURE_RATE,
  SOAK_FLATNESS,
  SOAK_POSTGRES_URL,
  SOAK_PUBLISH_BATCH,
  SOAK_PUBLISH_WINDOW,
  soakMessageCount,
  soakQueueConfig,
  soakSettleDeadlineMs,
  soakWarmupSeconds,
} from './soak-settings.js';

async function until(
  condition: () => boolean,
  deadline: number,
  what: () => string,
): Promise<void> {
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await sleep(200);
  }
}

async function dropTables(table: string): Promise<void> {
  const client = new pg.Client({ connectionString: SOAK_POSTGRES_URL });
  await client.connect();
  try {
    for (const name of [table, `${table}_dead`]) {
      await client.query(`DROP TABLE IF EXISTS ${pg.escapeIdentifier(name)}`);
    }
  } finally {
    await client.end();
  }
}

describe('Soak @slow', function () {
  const messages = soakMessageCount();
  this.timeout(soakSettleDeadlineMs(messages) + 120_000);
  const queue = uniqueName('ergon_soak');
  const table = uniqueName('ergon_soak');
  let probe: BrokerProbe | undefined;
  let worker: SoakWorkerProcess | undefined;
  let publisher: RabbitmqConnector<SoakMessage> | undefined;
  const publishing = new AbortController();

  before(async function () {
    await requireService(this, 'rabbitmq');
    await requireService(this, 'postgres');
    probe = await BrokerProbe.open();
  });

  after(async () => {
    publishing.abort();
    worker?.kill();
    await publisher?.close();
    if (probe !== undefined) {
      await probe.deleteTopology(queue);
      await probe.close();
      await dropTables(table);
    }
  });

  it(`${messages.toLocaleString('en-US')} transactions RabbitMQ → task (${SOAK_FAILURE_RATE * 100} % failures, retried) → PostgreSQL: none lost, RSS flat after warm-up, no growth of handles, timers or listeners`, async () => {
    const started = Date.now();
    const running = new SoakWorkerProcess(queue, table);
    worker = running;
    const feed = new RabbitmqConnector<SoakMessage>(soakQueueConfig(queue, 'ergon soak publisher'));
    publisher = feed;
    const published = publishPaced(feed, {
      count: messages,
      batch: SOAK_PUBLISH_BATCH,
      window: SOAK_PUBLISH_WINDOW,
      settled: () => running.settled,
      signal: publishing.signal,
    });
    const deadline = started + soakSettleDeadlineMs(messages);
    await Promise.all([
      published,
      until(
        () => running.settled >= messages || !running.running,
        deadline,
        () => `${running.settled} of ${messages} settled`,
      ),
    ]);
    expect(running.running, 'the worker is still running').to.equal(true);
    const exitCode = await running.stop();
    const durationMs = Date.now() - started;
    await feed.close();

    const tally = running.tally;
    expect(tally, 'the worker reported its tally').to.not.equal(undefined);
    const ledger = await auditLedger(SOAK_POSTGRES_URL, table, messages);
    const deadLettered = (await probe?.messageCount(`${queue}.dlq`)) ?? 0;
    const leftInQueue = (await probe?.countWhenQuiet(queue)) ?? 0;
    const lost = ledger.missing;
    const duplicates = Math.max(0, (tally?.success ?? 0) - ledger.rows);

    const samples = running.samples;
    const warmupSeconds = soakWarmupSeconds(samples.at(-1)?.seconds ?? 0);
    const steady = samples.filter((sample) => sample.seconds >= warmupSeconds);
    const seconds = steady.map((sample) => sample.seconds);
    const judge = (
      metric: string,
      unit: string,
      pick: (sample: SoakSample) => number,
      bound: (typeof SOAK_FLATNESS)[keyof typeof SOAK_FLATNESS],
    ): Flatness => assessFlatness(metric, unit, seconds, steady.map(pick), bound);
    const rss = judge('RSS', 'MiB', (sample) => sample.rssMiB, SOAK_FLATNESS.rss);
    const flatness = [
      rss,
      judge('active handles', '', (sample) => sample.activeHandles, SOAK_FLATNESS.activeHandles),
      judge('timers', '', (sample) => sample.timers, SOAK_FLATNESS.timers),
      judge('listeners', '', (sample) => sample.listeners, SOAK_FLATNESS.listeners),
    ];
    const throughput = messages / (durationMs / 1000);
    const first = steady[0];
    const last = steady.at(-1);
    const steadyThroughput =
      first === undefined || last === undefined || last.seconds === first.seconds
        ? throughput
        : (last.settled - first.settled) / (last.seconds - first.seconds);
    const bytesPerTransaction = (rss.risePerMinute * 1024 * 1024) / (steadyThroughput * 60);
    const verdict = [
      `Pipeline: ${Math.round(throughput)} transactions/s end to end (${Math.round(steadyThroughput)}/s after warm-up); ` +
        `${tally?.injectedFailures ?? 0} injected failures, ${tally?.failed ?? 0} failed for good, ` +
        `${deadLettered} dead-lettered, ${tally?.redelivered ?? 0} redelivered, ${leftInQueue} left in the queue; ` +
        `worker exit code ${String(exitCode)} (SIGTERM).`,
      '',
      'A transaction whose 5 attempts all fail is dead-lettered (the task has no onException); at 1 % ' +
        'failures per attempt none is expected (10⁻¹⁰ per transaction).',
      '',
      `Flat means a least-squares trend and a max − min within bounds, over the samples after ${warmupSeconds} s ` +
        `of warm-up (the RSS trend amounts to ${bytesPerTransaction.toFixed(1)} bytes per transaction):`,
      '',
      ...flatness.map((judged) => `- ${describeFlatness(judged)}`),
    ].join('\n');
    writeSoakPlot(samples, warmupSeconds, messages);
    recordSoakResult({
      messages,
      failureRate: SOAK_FAILURE_RATE,
      lost,
      duplicates,
      durationMs,
      warmupSeconds,
      samples,
      plot: SOAK_PLOT_PATH,
      verdict,
    });
    console.log(verdict);

    expect(exitCode, 'a SIGTERM stop exits 143').to.equal(143);
    expect(ledger.strangers, 'rows that are not soak ids').to.equal(0);
    expect(lost, 'ids missing from PostgreSQL').to.equal(0);
    // Nothing here makes the broker redeliver (failures are retried inside the worker), so a
    // duplicate would be a bug, not at-least-once at work.
    expect(tally?.redelivered, 'redelivered transactions').to.equal(0);
    expect(duplicates, 'transactions processed twice').to.equal(0);
    expect(tally?.failed, 'transactions failed for good').to.equal(0);
    expect(deadLettered, 'dead-lettered messages').to.equal(0);
    expect(leftInQueue, 'messages left in the queue').to.equal(0);
    expect(steady.length, 'samples after warm-up').to.be.greaterThan(10);
    for (const judged of flatness) expect(judged.flat, describeFlatness(judged)).to.equal(true);
  });
});
