import pg from 'pg';
import { uniqueName } from '../../spec/support/real-service.js';
import type { BrokerEndpoint } from '../support/broker-endpoint.js';
import type { BrokerTarget, RawMessage } from '../support/broker-target.js';
import { LEDGER_URL } from '../support/processing-ledger.js';

/** A queue table (`bytea` payloads) and its dead table `<table>_dead` in the database at `url`. */
export class PostgresTarget implements BrokerTarget {
  readonly broker = 'postgres';
  readonly endpoint: BrokerEndpoint;
  private readonly pool: pg.Pool;

  constructor(
    url = LEDGER_URL,
    settings: Pick<BrokerEndpoint, 'maxDeliveries' | 'leaseMs'> = {
      maxDeliveries: 5,
      leaseMs: 1000,
    },
  ) {
    const table = uniqueName('ergon_fault');
    this.endpoint = { broker: 'postgres', url, destination: table, clientName: table, ...settings };
    this.pool = new pg.Pool({ connectionString: url, application_name: `${table}-probe`, max: 2 });
    this.pool.on('error', () => undefined);
  }

  async publishRaw(messages: readonly RawMessage[]): Promise<void> {
    for (const { id, body } of messages) {
      await this.pool.query(
        `INSERT INTO "${this.endpoint.destination}" (id, payload) VALUES ($1, $2)`,
        [id, body],
      );
    }
  }

  /** Rows still in the queue table: waiting or leased (a settled row is deleted or moved). */
  async outstanding(): Promise<number> {
    const { rows } = await this.pool.query<{ count: string }>(
      `SELECT count(*) FROM "${this.endpoint.destination}"`,
    );
    return Number(rows[0]?.count ?? 0);
  }

  async deadLettered(): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM "${this.endpoint.destination}_dead" ORDER BY dead_id`,
    );
    return rows.map((row) => row.id);
  }

  async deadLetterErrors(): Promise<ReadonlyMap<string, string>> {
    const { rows } = await this.pool.query<{ id: string; error: string }>(
      `SELECT id, error FROM "${this.endpoint.destination}_dead" ORDER BY dead_id`,
    );
    return new Map(rows.map((row) => [row.id, row.error]));
  }

  /** `pg_terminate_backend` on every backend of the task's `application_name`. */
  async cutConnections(): Promise<number> {
    const { rows } = await this.pool.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name = $1`,
      [this.endpoint.clientName],
    );
    return rows.filter((row) => row.terminated).length;
  }

  async dispose(): Promise<void> {
    const table = this.endpoint.destination;
    await this.pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_dead"`);
    await this.pool.end();
  }
}
