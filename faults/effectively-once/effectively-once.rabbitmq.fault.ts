/**
 * The effectively-once row of RELIABILITY.md: RabbitMQ → task (PostgreSQL writes through the
 * inbox, outbound transactions through the outbox) → relay → a second RabbitMQ queue, with
 * workers SIGKILLed at random ×10 and the broker connections cut twice. Expected: 0 lost,
 * 0 duplicate effects, 0 duplicates in the outbound queue after dedupe by id (the outbound
 * queue itself may carry republished copies: a relay killed between publish and ack).
 *
 * `ERGON_ONCE_MESSAGES` sets the size (default 100 000, the size of the row).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTransaction } from '../../lib/index.js';
import { PostgresConnector } from '../../lib/connectors/postgres/index.js';
import { RabbitmqConnector } from '../../lib/connectors/rabbitmq/index.js';
import { inbox } from '../../lib/effectively-once/index.js';
import { requireService, uniqueName } from '../../spec/support/real-service.js';
import { adminQuery, testUrl } from '../../spec/connectors/postgres/fixtures/queue-fixture.js';
import {
  BrokerProbe,
  brokerUrl,
  cutConnections,
} from '../../spec/connectors/rabbitmq/fixtures/broker.js';
import { recordFaultResult } from '../support/fault-result.js';
import type { EffectivelyOnceWorkerSettings } from './effectively-once-worker.js';

const workerScript = fileURLToPath(new URL('./effectively-once-worker.ts', import.meta.url));
const messages = Number(process.env['ERGON_ONCE_MESSAGES'] ?? 100_000);
const kills = 10;
const cuts = 2;
const workers = 2;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Effectively-once under faults @slow', function () {
  this.timeout(Math.max(600_000, messages * 30));

  before(async function () {
    await requireService(this, 'rabbitmq');
    await requireService(this, 'postgres');
  });

  it('RabbitMQ → PostgreSQL (inbox, outbox) → RabbitMQ, workers SIGKILLed ×10, connections cut ×2: 0 lost, 0 duplicate effects, 0 duplicates after dedupe by id @slow', async () => {
    const name = uniqueName('once_fault');
    const settings: EffectivelyOnceWorkerSettings = {
      postgresUrl: testUrl,
      rabbitmqUrl: brokerUrl,
      connectionName: `ergon once fault ${name}`,
      inQueue: `${name}.in`,
      outQueue: `${name}.out`,
      effects: `${name}_effects`,
      inbox: `${name}_inbox`,
      outbox: `${name}_outbox`,
      concurrency: 16,
    };
    const probe = await BrokerProbe.open();
    const children = new Set<ChildProcess>();
    let stopping = false;
    try {
      await adminQuery(`CREATE TABLE ${settings.effects} (id text NOT NULL, pid integer NOT NULL)`);
      const outbox = new PostgresConnector({
        connection: { url: testUrl },
        table: settings.outbox,
      });
      await outbox.migrate();
      await inbox(outbox.service.pool, { table: settings.inbox }).migrate();
      await outbox.close();
      const inbound = new RabbitmqConnector<{ n: number }>({
        connection: { url: brokerUrl, connectionName: `ergon once publisher ${name}` },
        queue: settings.inQueue,
      });
      for (let start = 0; start < messages; start += 2000) {
        const size = Math.min(2000, messages - start);
        await inbound.dispatch(
          Array.from({ length: size }, (_, i) =>
            createTransaction({ n: start + i }, { id: `m-${start + i}` }),
          ),
        );
      }
      await inbound.close();

      const start = (): ChildProcess => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', workerScript, JSON.stringify(settings)],
          { stdio: ['ignore', 'ignore', 'inherit'] },
        );
        children.add(child);
        child.once('exit', () => {
          children.delete(child);
          if (!stopping) start(); // the supervisor's part: keep the pool at `workers`
        });
        return child;
      };
      for (let i = 0; i < workers; i++) start();

      const distinctEffects = async (): Promise<number> =>
        (
          await adminQuery<{ n: number }>(
            `SELECT count(DISTINCT id)::int AS n FROM ${settings.effects}`,
          )
        )[0]?.n ?? 0;

      // Faults at random points of the run: 10 kills and 2 connection cuts.
      const points = [
        ...Array.from({ length: kills }, () => ({ kind: 'kill' as const, at: Math.random() })),
        ...Array.from({ length: cuts }, (_, i) => ({
          kind: 'cut' as const,
          at: (i + 1) / (cuts + 1) + (Math.random() - 0.5) * 0.1,
        })),
      ]
        .map((point) => ({ ...point, at: Math.round(messages * (0.05 + point.at * 0.85)) }))
        .sort((a, b) => a.at - b.at);
      let killed = 0;
      let cut = 0;
      const startedAt = Date.now();
      for (const point of points) {
        while ((await distinctEffects()) < point.at) await sleep(100);
        if (point.kind === 'kill') {
          const alive = [...children];
          const victim = alive[Math.floor(Math.random() * alive.length)];
          if (victim?.pid === undefined) continue;
          process.kill(victim.pid, 'SIGKILL');
          killed += 1;
        } else if ((await cutConnections(settings.connectionName)) > 0) {
          cut += 1;
        }
      }
      // Done when every id has its effect, the outbox is empty and the inbound queue too.
      for (;;) {
        const outboxLeft = (
          await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM ${settings.outbox}`)
        )[0]?.n;
        if ((await distinctEffects()) === messages && outboxLeft === 0) break;
        await sleep(250);
      }
      const elapsed = Date.now() - startedAt;
      stopping = true;
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise((resolve) => {
              child.once('exit', resolve);
              child.kill('SIGTERM');
            }),
        ),
      );

      const [counts] = await adminQuery<{ total: number; distinct: number }>(
        `SELECT count(*)::int AS total, count(DISTINCT id)::int AS distinct FROM ${settings.effects}`,
      );
      const outbound = await probe.drain(settings.outQueue);
      const outboundIds = new Set(outbound.map((message) => String(message.properties.messageId)));
      const expectedOut = new Set(Array.from({ length: messages }, (_, n) => `out-m-${n}`));
      const lost = messages - (counts?.distinct ?? 0);
      const duplicateEffects = (counts?.total ?? 0) - (counts?.distinct ?? 0);
      const outboundMissing = [...expectedOut].filter((id) => !outboundIds.has(id)).length;
      const outboundStrangers = [...outboundIds].filter((id) => !expectedOut.has(id)).length;
      recordFaultResult({
        fault: 'effectively-once: worker SIGKILL ×10 + broker connection cut ×2',
        connector: 'rabbitmq → postgres (inbox, outbox) → rabbitmq',
        runs: killed + cut,
        messages,
        lost: lost + outboundMissing,
        duplicates: duplicateEffects,
        duplicatesExplained:
          duplicateEffects === 0
            ? 'none: effect rows counted in the target table (the inbox skipped every redelivery)'
            : 'duplicate effect rows in the target table',
        recoveryMs: null,
        notes: `${killed} SIGKILLs and ${cut} connection cuts, ${workers} workers × 16 in flight; ${outbound.length} outbound messages, ${outboundIds.size} distinct ids after dedupe by id (${outbound.length - outboundIds.size} republished copies), ${outboundMissing} missing; ${Math.round(messages / (elapsed / 1000))} tx/s under the faults`,
      });
      expect(killed).to.equal(kills);
      expect(cut).to.equal(cuts);
      expect(lost, 'ids without an effect').to.equal(0);
      expect(duplicateEffects, 'duplicate effect rows').to.equal(0);
      expect(outboundMissing, 'outbound ids missing').to.equal(0);
      expect(outboundStrangers, 'unexpected outbound ids').to.equal(0);
    } finally {
      stopping = true;
      for (const child of children) child.kill('SIGKILL');
      await probe.deleteTopology(settings.inQueue).catch(() => undefined);
      await probe.deleteTopology(settings.outQueue).catch(() => undefined);
      await probe.close();
      await adminQuery(
        `DROP TABLE IF EXISTS ${settings.effects}, ${settings.inbox}, ${settings.outbox}, ${settings.outbox}_dead`,
      );
    }
  });
});
