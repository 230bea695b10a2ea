import pg from 'pg';
import type { Outcome } from '../../lib/index.js';
import { settleDecisionFor } from '../../lib/core/outcome.js';

/** The shared PostgreSQL server of the suite; the ledger lives there whatever the broker. */
export const LEDGER_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Every processing of one id, in order. */
interface LedgerEntry {
  readonly id: string;
  /** Pid of the worker process of each processing. */
  readonly pids: readonly number[];
  /** When each processing started (`Date.now()` of the worker). */
  readonly at: readonly number[];
}

/** One settlement a worker saw complete (the outcome the engine emitted after `settle`). */
interface LedgerSettlement {
  readonly id: string;
  /** `ack`, `deadLetter` or `release`; `settleFailed` when the connector's `settle` threw. */
  readonly decision: 'ack' | 'deadLetter' | 'release' | 'settleFailed';
  readonly pid: number;
  readonly at: number;
}

/** What the ledger holds at one moment. */
export interface LedgerSnapshot {
  readonly processed: ReadonlyMap<string, LedgerEntry>;
  /** In the order they were recorded. */
  readonly settlements: readonly LedgerSettlement[];
}

/**
 * The fault suite's record of what workers did, in two tables of the shared PostgreSQL:
 * `<name>` has one row per processed id, upserted at every processing (so a redelivery adds
 * to the row instead of failing), `<name>_settled` one row per settlement. Workers write it;
 * the spec reads a {@link LedgerSnapshot} to judge the run. Its connections are named
 * `<name>-ledger`, so killing a worker's broker connections by name never touches them.
 */
export class ProcessingLedger {
  private readonly pool: pg.Pool;

  constructor(readonly name: string) {
    this.pool = new pg.Pool({
      connectionString: LEDGER_URL,
      application_name: `${name}-ledger`,
      max: 4,
    });
    this.pool.on('error', () => undefined);
  }

  /** Creates both tables (empty). */
  async create(): Promise<void> {
    await this.pool.query(
      `CREATE TABLE "${this.name}" (id text PRIMARY KEY, pids integer[] NOT NULL, at bigint[] NOT NULL);
       CREATE TABLE "${this.name}_settled" (seq bigserial PRIMARY KEY, id text NOT NULL,
         decision text NOT NULL, pid integer NOT NULL, at bigint NOT NULL)`,
    );
  }

  /** Records that this process starts processing `id` now. */
  async recordProcessing(id: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO "${this.name}" (id, pids, at) VALUES ($1, ARRAY[$2::integer], ARRAY[$3::bigint])
       ON CONFLICT (id) DO UPDATE SET pids = "${this.name}".pids || EXCLUDED.pids,
         at = "${this.name}".at || EXCLUDED.at`,
      [id, process.pid, Date.now()],
    );
  }

  /** Records the settlement `outcome` stands for, made by this process. */
  async recordSettlement(outcome: Outcome): Promise<void> {
    const decision =
      outcome.settleError === undefined ? settleDecisionFor(outcome).type : 'settleFailed';
    await this.pool.query(
      `INSERT INTO "${this.name}_settled" (id, decision, pid, at) VALUES ($1, $2, $3, $4)`,
      [outcome.transaction.id, decision, process.pid, Date.now()],
    );
  }

  async snapshot(): Promise<LedgerSnapshot> {
    const processed = await this.pool.query<{ id: string; pids: number[]; at: string[] }>(
      `SELECT id, pids, at FROM "${this.name}"`,
    );
    const settled = await this.pool.query<{
      id: string;
      decision: LedgerSettlement['decision'];
      pid: number;
      at: string;
    }>(`SELECT id, decision, pid, at FROM "${this.name}_settled" ORDER BY seq`);
    return {
      processed: new Map(
        processed.rows.map((row) => [
          row.id,
          { id: row.id, pids: row.pids, at: row.at.map(Number) },
        ]),
      ),
      settlements: settled.rows.map((row) => ({ ...row, at: Number(row.at) })),
    };
  }

  /** How many distinct ids were processed so far. */
  async processedCount(): Promise<number> {
    const { rows } = await this.pool.query<{ count: string }>(
      `SELECT count(*) FROM "${this.name}"`,
    );
    return Number(rows[0]?.count ?? 0);
  }

  /** Drops both tables. */
  async drop(): Promise<void> {
    await this.pool.query(`DROP TABLE IF EXISTS "${this.name}", "${this.name}_settled"`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
