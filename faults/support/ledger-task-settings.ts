import type { BrokerEndpoint } from './broker-endpoint.js';

/** The environment variable that carries a {@link LedgerTaskSettings} to the worker processes. */
export const LEDGER_TASK_VARIABLE = 'ERGON_FAULT_TASK';

/** What `ledger-task.ts` consumes and how its handler behaves. */
export interface LedgerTaskSettings {
  readonly endpoint: BrokerEndpoint;
  /** The {@link ProcessingLedger} table name. */
  readonly ledger: string;
  /** Worker processes (`runTask`'s `workers`). */
  readonly workers: number;
  /** Transactions in flight per worker. */
  readonly concurrency: number;
  /** How long the handler works on each transaction after recording it, in ms. */
  readonly processMs: number;
  /** Ids whose handler always throws a `NonRetryableError`: dead-lettered by the connector. */
  readonly failIds: readonly string[];
  /** Ids whose handler kills its own worker (SIGKILL) at every delivery: dead-lettered once past `maxDeliveries`. */
  readonly crashIds: readonly string[];
  /** Ids whose handler works `slowMs` instead of `processMs` (past the broker's redelivery clock). */
  readonly slowIds?: readonly string[];
  readonly slowMs?: number;
  /** The policy's `transactionRuntime.timeout` (default: the engine's). */
  readonly transactionTimeout?: number | null;
}

/** Reads the settings `startLedgerTask` put in the environment. */
export function ledgerTaskSettingsFromEnvironment(): LedgerTaskSettings {
  const text = process.env[LEDGER_TASK_VARIABLE];
  if (text === undefined) throw new Error(`${LEDGER_TASK_VARIABLE} is not set`);
  return JSON.parse(text) as LedgerTaskSettings;
}
