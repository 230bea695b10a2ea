import { expect } from 'chai';
import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import {
  DeliveryLostError,
  SettlementError,
  TransactionError,
  type SettleDecision,
  type Transaction,
} from '../../../lib/index.js';
import { PostgresService, PostgresTableConnector } from '../../../lib/connectors/postgres/index.js';
import { requireService, uniqueName } from '../../support/real-service.js';
import { adminQuery, testUrl } from './fixtures/queue-fixture.js';

type Row = Readonly<Record<string, unknown>>;
type Worker = 0 | 1;

/**
 * The model: what each row is. `held` rows belong to a worker; `stale` transactions are ones
 * a worker still holds whose claim was taken away (its lease expired).
 */
interface Model {
  readonly rows: Map<number, { state: 'pending' | 'held' | 'done' | 'failed'; by?: Worker }>;
}

interface Real {
  readonly table: string;
  readonly workers: readonly [PostgresTableConnector, PostgresTableConnector];
  /** Transactions each worker holds, oldest first (stale ones included). */
  readonly held: [Transaction<Row>[], Transaction<Row>[]];
  /** Transactions already settled (settling them again must fail). */
  readonly settled: Transaction<Row>[];
  /** Transactions whose claim was taken away (settling them must fail). */
  readonly stale: Set<Transaction<Row>>;
}

const rowCount = 8;

async function dbStates(table: string): Promise<Map<number, string>> {
  const rows = await adminQuery<{ id: number; status: string; live: boolean }>(
    `SELECT id, status, claimed_until > now() AS live FROM public."${table}" ORDER BY id`,
  );
  return new Map(
    rows.map((row) => [row.id, row.status === 'processing' && !row.live ? 'pending' : row.status]),
  );
}

async function checkTable(model: Model, real: Real): Promise<void> {
  const states = await dbStates(real.table);
  for (const [id, row] of model.rows) {
    const expected = row.state === 'held' ? 'processing' : row.state;
    expect(states.get(id), `row ${id}`).to.equal(expected);
  }
}

class Fetch implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly worker: Worker,
    readonly size: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const fetched = await lastValueFrom(
      (real.workers[this.worker] as PostgresTableConnector<Row>)
        .fetch({ size: this.size, extra: {} })
        .pipe(toArray()),
    );
    const claimable = [...model.rows]
      .filter(([, row]) => row.state === 'pending')
      .map(([id]) => id)
      .slice(0, this.size);
    expect(fetched.map((tx) => Number(tx.id))).to.deep.equal(claimable);
    for (const id of claimable) model.rows.set(id, { state: 'held', by: this.worker });
    real.held[this.worker].push(...fetched);
    await checkTable(model, real);
  }
  toString(): string {
    return `fetch(${this.worker}, ${this.size})`;
  }
}

class Settle implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly worker: Worker,
    readonly pick: number,
    readonly decision: SettleDecision['type'],
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const held = real.held[this.worker];
    if (held.length === 0) return;
    const [tx] = held.splice(this.pick % held.length, 1) as [Transaction<Row>];
    const decision: SettleDecision =
      this.decision === 'ack'
        ? { type: 'ack' }
        : this.decision === 'release'
          ? { type: 'release', reason: 'shutdown' }
          : { type: 'deadLetter', error: new TransactionError('boom', { category: 'business' }) };
    const settling = real.workers[this.worker].settle(tx, decision);
    real.settled.push(tx);
    if (real.stale.has(tx)) {
      await settling.then(
        () => expect.fail(`a stale claim of row ${tx.id} settled it`),
        (error: unknown) => expect(error).to.be.instanceOf(DeliveryLostError),
      );
    } else {
      await settling;
      const state =
        this.decision === 'ack' ? 'done' : this.decision === 'release' ? 'pending' : 'failed';
      model.rows.set(Number(tx.id), { state });
    }
    await checkTable(model, real);
  }
  toString(): string {
    return `settle(${this.worker}, #${this.pick}, ${this.decision})`;
  }
}

/** A held row's lease runs out (as when its worker stalls past it): any worker may claim it. */
class Expire implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly worker: Worker,
    readonly pick: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const live = real.held[this.worker].filter((tx) => !real.stale.has(tx));
    if (live.length === 0) return;
    const tx = live[this.pick % live.length] as Transaction<Row>;
    await adminQuery(
      `UPDATE public."${real.table}" SET claimed_until = now() - interval '1 second' WHERE id = $1`,
      [tx.id],
    );
    real.stale.add(tx);
    model.rows.set(Number(tx.id), { state: 'pending' });
    await checkTable(model, real);
  }
  toString(): string {
    return `expire(${this.worker}, #${this.pick})`;
  }
}

/** Settling a transaction again is refused, and changes nothing. */
class SettleAgain implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    if (real.settled.length === 0) return;
    const tx = real.settled[this.pick % real.settled.length] as Transaction<Row>;
    for (const worker of real.workers) {
      await worker.settle(tx, { type: 'ack' }).then(
        () => expect.fail(`row ${tx.id} settled twice`),
        (error: unknown) => expect(error).to.be.instanceOf(SettlementError),
      );
    }
    await checkTable(model, real);
  }
  toString(): string {
    return `settleAgain(#${this.pick})`;
  }
}

const worker = fc.constantFrom<Worker>(0, 1);
const commands = [
  fc.tuple(worker, fc.integer({ min: 1, max: 4 })).map(([w, size]) => new Fetch(w, size)),
  fc
    .tuple(
      worker,
      fc.nat(),
      fc.constantFrom<SettleDecision['type']>('ack', 'deadLetter', 'release'),
    )
    .map(([w, pick, decision]) => new Settle(w, pick, decision)),
  fc.tuple(worker, fc.nat()).map(([w, pick]) => new Expire(w, pick)),
  fc.nat().map((pick) => new SettleAgain(pick)),
];

describe('PostgresTableConnector claim/settle state machine (property, real PostgreSQL)', function () {
  this.timeout(120_000);
  let service: PostgresService;

  before(async function () {
    await requireService(this, 'postgres');
    service = new PostgresService({ url: testUrl, poolSize: 4 });
  });

  after(async () => {
    await service?.close();
  });

  it('hands each ready row to one worker, in order; settles it once, fenced by its claim', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (run) => {
        const table = uniqueName('ergon_table_model');
        await adminQuery(`CREATE TABLE public."${table}" (
  id int PRIMARY KEY, status text NOT NULL DEFAULT 'pending', claimed_until timestamptz)`);
        await adminQuery(`INSERT INTO public."${table}" (id) SELECT generate_series(1, $1)`, [
          rowCount,
        ]);
        const connector = (): PostgresTableConnector =>
          new PostgresTableConnector(
            {
              table,
              claim: { statusColumn: 'status', leaseColumn: 'claimed_until' },
              lease: 60_000,
            },
            { service },
          );
        const real: Real = {
          table,
          workers: [connector(), connector()],
          held: [[], []],
          settled: [],
          stale: new Set(),
        };
        const model: Model = {
          rows: new Map(Array.from({ length: rowCount }, (_, n) => [n + 1, { state: 'pending' }])),
        };
        try {
          await fc.asyncModelRun(() => ({ model, real }), run);
        } finally {
          for (const each of real.workers) await each.close();
          await adminQuery(`DROP TABLE public."${table}"`);
        }
      }),
      { numRuns: 30 },
    );
  });
});
