import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  deliveryCountOf,
  RetryLaterError,
  type Connector,
  type ConsumerPolicyInput,
  type DispatchReport,
  type Outcome,
  type Transaction,
} from '../../lib/index.js';
import { requireService, uniqueName } from '../support/real-service.js';
import { durableSubjects, type DurableSubject } from './support/durable-subjects.js';

// The promises of docs/scheduling.md, against every connector with a real server (or disk):
// RetryLaterError → delivered again after the delay, not before, holding no slot meanwhile,
// and surviving a restart of the consumer; notBefore and priority where the table says so.

interface Payload {
  readonly n: number;
  /** What the transaction is for in its test (the file connector does not keep ids). */
  readonly tag?: string;
}

const delay = 400;

/** A continuous streaming loop that ends after `limit` fetched transactions. */
function streaming(limit: number, concurrency: number): ConsumerPolicyInput {
  return {
    loop: { mode: 'continuous', concurrency: { value: concurrency }, streaming: true, limit },
    fetch: { empty: { backoff: 20, backoffMultiplier: 1 } },
  };
}

function numbered(count: number, prefix: string, metadata: Record<string, unknown> = {}) {
  return Array.from({ length: count }, (_, n) =>
    createTransaction<Payload>({ n, tag: prefix }, { id: `${prefix}-${n}`, metadata }),
  );
}

/** `tag-n` of a transaction's payload. */
const named = (tx: Transaction<Payload>): string => `${String(tx.payload.tag)}-${tx.payload.n}`;

/** `connector.dispatch` (every connector here returns a Promise or a report). */
async function send(
  connector: Connector<Payload>,
  txs: Transaction<Payload>[],
): Promise<DispatchReport<Payload> | void> {
  const dispatch = connector.dispatch as NonNullable<Connector<Payload>['dispatch']>;
  return (await dispatch.call(connector, txs)) as DispatchReport<Payload> | void;
}

async function dispatchAll(connector: Connector<Payload>, txs: Transaction<Payload>[]) {
  const report = await send(connector, txs);
  expect(report?.failed ?? []).to.deep.equal([]);
}

for (const subject of durableSubjects) describeSubject(subject);

function describeSubject(subject: DurableSubject): void {
  describe(`durable delays: ${subject.name}`, function () {
    this.timeout(30_000);
    const open: Connector<Payload>[] = [];

    before(async function () {
      if (subject.service !== null) await requireService(this, subject.service);
    });

    afterEach(async () => {
      for (const connector of open.splice(0)) await connector.close?.();
    });

    after(async () => {
      await subject.cleanup();
    });

    async function connect(queue: string, options: { priority?: boolean } = {}) {
      const connector = await subject.open(queue, options);
      open.push(connector);
      return connector;
    }

    it('says what it can schedule', async () => {
      const connector = await connect(uniqueName('ergon_dd'));
      expect(connector.scheduling).to.deep.equal(subject.scheduling);
    });

    it('RetryLaterError: delivered again after the delay, not before, with its delivery count going on', async () => {
      const queue = uniqueName('ergon_dd');
      const connector = await connect(queue);
      await dispatchAll(connector, numbered(1, 'later'));
      const starts: { at: number; deliveries: number }[] = [];
      const task = consumerTask({
        process: (tx: Transaction<Payload>) => {
          starts.push({
            at: Date.now(),
            deliveries: deliveryCountOf(tx),
          });
          if (starts.length === 1) throw new RetryLaterError(delay, 'not yet');
          return tx.payload.n;
        },
      });
      const outcomes = await lastValueFrom(
        consume(connector, task, streaming(2, 1)).pipe(toArray()),
      );
      expect(outcomes.map((o) => o.status)).to.deep.equal(['released', 'success']);
      expect(outcomes[0]).to.include({ reason: 'retryLater', delay });
      const [first, second] = starts as [(typeof starts)[0], (typeof starts)[0]];
      expect(second.at - first.at).to.be.at.least(delay);
      expect(second.deliveries).to.be.above(first.deliveries);
    });

    it('a 10-minute delay holds no slot (the others run at full concurrency) and is still pending after a restart', async () => {
      const queue = uniqueName('ergon_dd');
      const connector = await connect(queue);
      await dispatchAll(connector, [...numbered(2, 'parked'), ...numbered(8, 'busy')]);
      let running = 0;
      let peak = 0;
      const task = consumerTask({
        process: async (tx: Transaction<Payload>) => {
          if (tx.payload.tag === 'parked') throw new RetryLaterError(600_000, 'ten minutes');
          running++;
          peak = Math.max(peak, running);
          await new Promise((resolve) => setTimeout(resolve, 60));
          running--;
          return tx.payload.n;
        },
      });
      const outcomes = await lastValueFrom(
        consume(connector, task, streaming(10, 4)).pipe(toArray()),
      );
      const statuses = outcomes.map((o: Outcome) => o.status).sort();
      expect(statuses).to.deep.equal(['released', 'released', ...Array<string>(8).fill('success')]);
      expect(peak).to.equal(4);
      await connector.close?.();

      // A new consumer (the restart) finds both still held back, and gets neither now.
      const restarted = await connect(queue);
      expect(await subject.pending(restarted, queue)).to.equal(2);
      const early = await lastValueFrom(
        consume(restarted, consumerTask({ process: () => 1 }), {
          loop: { concurrency: { value: 4 } },
        }).pipe(toArray()),
      );
      expect(early).to.deep.equal([]);
      expect(await subject.pending(restarted, queue)).to.equal(2);
    });

    it('a short delay survives a restart of the consumer: the next consumer gets it after the delay', async () => {
      const queue = uniqueName('ergon_dd');
      const connector = await connect(queue);
      await dispatchAll(connector, numbered(1, 'restart'));
      const released = Date.now();
      const outcomes = await lastValueFrom(
        consume(
          connector,
          consumerTask({
            process: () => {
              throw new RetryLaterError(1200);
            },
          }),
          streaming(1, 1),
        ).pipe(toArray()),
      );
      expect(outcomes[0]).to.include({ status: 'released', reason: 'retryLater' });
      await connector.close?.();

      const restarted = await connect(queue);
      let at = 0;
      const again = await lastValueFrom(
        consume(
          restarted,
          consumerTask({
            process: (tx: Transaction<Payload>) => {
              at = Date.now();
              return tx.id;
            },
          }),
          streaming(1, 1),
        ).pipe(toArray()),
      );
      expect(again.map((o) => [o.status, named(o.transaction)])).to.deep.equal([
        ['success', 'restart-0'],
      ]);
      expect(at - released).to.be.at.least(1200);
    });

    if (subject.scheduling.notBefore) {
      it('dispatch honours metadata.notBefore: not delivered before it, the others meanwhile', async () => {
        const queue = uniqueName('ergon_dd');
        const connector = await connect(queue);
        const notBefore = Date.now() + 700;
        await dispatchAll(connector, [
          ...numbered(1, 'scheduled', { notBefore: new Date(notBefore) }),
          ...numbered(2, 'now'),
        ]);
        const seen: { id: string; at: number }[] = [];
        await lastValueFrom(
          consume(
            connector,
            consumerTask({
              process: (tx: Transaction<Payload>) => {
                seen.push({ id: named(tx), at: Date.now() });
              },
            }),
            streaming(3, 2),
          ).pipe(toArray()),
        );
        expect(seen.map((s) => s.id)).to.deep.equal(['now-0', 'now-1', 'scheduled-0']);
        expect((seen[2] as { at: number }).at).to.be.at.least(notBefore);
      });
    }

    if (subject.priorities) {
      it('dispatch honours metadata.priority: higher first among what waits', async () => {
        const queue = uniqueName('ergon_dd');
        const connector = await connect(queue, { priority: true });
        expect(connector.scheduling?.priority).to.equal(true);
        await dispatchAll(connector, [
          ...numbered(3, 'low', { priority: 1 }),
          ...numbered(3, 'none'),
          ...numbered(3, 'high', { priority: 9 }),
        ]);
        const order: string[] = [];
        await lastValueFrom(
          consume(
            connector,
            consumerTask({
              process: (tx: Transaction<Payload>) => {
                order.push(String(tx.payload.tag));
              },
            }),
            { ...streaming(9, 1), fetch: { batch: { size: 1 } } },
          ).pipe(toArray()),
        );
        expect(order).to.deep.equal([
          'high',
          'high',
          'high',
          'low',
          'low',
          'low',
          'none',
          'none',
          'none',
        ]);
      });
    }

    it('refuses an invalid notBefore or priority for that transaction alone', async () => {
      const connector = await connect(uniqueName('ergon_dd'));
      const bad = createTransaction<Payload>(
        { n: 1 },
        { id: 'bad', metadata: { notBefore: 'soon' } },
      );
      const good = createTransaction<Payload>({ n: 2 }, { id: 'good' });
      const report = await send(connector, [bad, good]);
      expect(report?.failed.map((f) => [f.transaction.id, (f.error as Error).name])).to.deep.equal([
        ['bad', 'ScheduleError'],
      ]);
    });
  });
}
