import type { Connector } from '../core/connector.js';
import type { DeadLetter, PurgeReport, RedriveReport } from '../core/dead-letters.js';
import { describeError, describeValue } from '../core/renderers.js';
import { waitAtMost } from '../core/waiting.js';
import type { DashboardDeadLetter, DashboardDeadLetterConnector } from './dashboard-api.js';
import { DashboardRequestError } from './dashboard-errors.js';

/** What the dashboard does to selected dead letters. */
export type DeadLetterActionName = 'redrive' | 'purge';

/** How many dead letters of one connector the panel lists (the oldest first). */
const LIST_LIMIT = 100;
/** How long a connector may take to open, list, redrive or purge before the API gives up. */
const ANSWER_TIME = 15_000;
/** Most ids one action takes. */
const MAX_IDS = 1_000;

/** One connector of the task as the desk reaches it. */
interface DeskEntry {
  readonly name: string;
  /** Resolves the one the run created, or opens one (the opener keeps it for the next call). */
  readonly connector: () => Promise<Connector>;
  /** The list under way, shared by the requests that arrive meanwhile. */
  listing: Promise<DashboardDeadLetterConnector> | undefined;
}

/**
 * The dead letters of a task's connectors, for the dashboard: lists them (at most 100 per
 * connector, the oldest first), redrives or purges selected ids through each connector's
 * `deadLetters()`, and says why a connector has none to show. Each connector call is given
 * 15 s; a list requested while one is under way shares its answer.
 *
 * @example
 * ```ts
 * const desk = new DeadLetterDesk();
 * desk.add('orders', connector);
 * const { redriven } = await desk.act('redrive', { connector: 'orders', ids: ['order-7'] });
 * ```
 */
export class DeadLetterDesk {
  private readonly entries: DeskEntry[] = [];

  constructor(
    private readonly limit: number = LIST_LIMIT,
    private readonly answerTime: number = ANSWER_TIME,
  ) {}

  /**
   * A connector of the task: the one the run created, or a function that resolves one (the
   * primary of a worker pool opens its own on first use and keeps it; a failed open is tried
   * again on the next request).
   */
  add(name: string, connector: Connector | (() => Promise<Connector>)): void {
    this.entries.push({
      name,
      connector: typeof connector === 'function' ? connector : () => Promise.resolve(connector),
      listing: undefined,
    });
  }

  /** Every connector's dead letters, in declaration order. */
  list(): Promise<DashboardDeadLetterConnector[]> {
    return Promise.all(
      this.entries.map((entry) => {
        entry.listing ??= this.listOne(entry).finally(() => (entry.listing = undefined));
        return entry.listing;
      }),
    );
  }

  /**
   * Redrives or purges the dead letters `body.ids` of connector `body.connector`.
   *
   * @throws DashboardRequestError 400 for a body that is not `{ connector, ids }`, 404 for an
   *   unknown connector, 409 for one without dead letters, 504 when it did not answer in time.
   */
  async act(action: 'redrive', body: unknown): Promise<RedriveReport>;
  async act(action: 'purge', body: unknown): Promise<PurgeReport>;
  async act(action: DeadLetterActionName, body: unknown): Promise<RedriveReport | PurgeReport> {
    const { connector: name, ids } = actionBody(body);
    const entry = this.entries.find((candidate) => candidate.name === name);
    if (entry === undefined) {
      const names = this.entries.map((candidate) => candidate.name).join(', ');
      throw new DashboardRequestError(
        404,
        `the task has no connector "${name}" (connectors: ${names === '' ? 'none' : names})`,
      );
    }
    const connector = await this.open(entry);
    if (typeof connector.deadLetters !== 'function') {
      throw new DashboardRequestError(409, unavailable(name, connector));
    }
    const dead = connector.deadLetters();
    const work: Promise<RedriveReport | PurgeReport> =
      action === 'redrive' ? dead.redrive({ ids }) : dead.purge({ ids });
    return this.within(work, `${action} on connector "${name}"`, 'it may still complete');
  }

  private async listOne(entry: DeskEntry): Promise<DashboardDeadLetterConnector> {
    const { name } = entry;
    let connector: Connector;
    try {
      connector = await this.open(entry);
    } catch (error) {
      return { name, available: false, reason: describeError(error), letters: [], more: false };
    }
    if (typeof connector.deadLetters !== 'function') {
      return {
        name,
        available: false,
        reason: unavailable(name, connector),
        letters: [],
        more: false,
      };
    }
    try {
      const letters = await this.within(
        connector.deadLetters().list({ limit: this.limit + 1 }),
        `listing the dead letters of connector "${name}"`,
        'try again later',
      );
      return {
        name,
        available: true,
        letters: letters.slice(0, this.limit).map(letterView),
        more: letters.length > this.limit,
      };
    } catch (error) {
      return { name, available: true, letters: [], more: false, error: describeError(error) };
    }
  }

  /** The entry's connector, waited for 15 s at most. */
  private open(entry: DeskEntry): Promise<Connector> {
    return this.within(entry.connector(), `opening connector "${entry.name}"`, 'try again later');
  }

  private async within<T>(work: PromiseLike<T>, what: string, advice: string): Promise<T> {
    if (!(await waitAtMost(work, this.answerTime))) {
      throw new DashboardRequestError(
        504,
        `${what} did not answer within ${this.answerTime / 1000} s; ${advice}`,
      );
    }
    return work;
  }
}

/** Why a connector shows no dead letters. */
function unavailable(name: string, connector: Connector): string {
  const system = connector.system === undefined ? '' : ` (${connector.system})`;
  return `connector "${name}"${system} keeps no dead letters it can read back (it has no deadLetters()); see docs/dead-letters.md`;
}

function letterView(letter: DeadLetter): DashboardDeadLetter {
  return {
    id: letter.id,
    error: letter.error,
    stage: letter.stage ?? null,
    reason: letter.reason,
    deadLetteredAt: letter.deadLetteredAt.getTime(),
    deliveryCount: letter.deliveryCount,
    location: letter.location,
  };
}

/** `{ connector, ids }` checked: a name, 1 to 1000 ids, nothing else. */
function actionBody(body: unknown): { connector: string; ids: string[] } {
  const expected = 'send { "connector": "<name>", "ids": ["<transaction id>", …] }';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new DashboardRequestError(400, `${expected}; got ${describeValue(body)}`);
  }
  const record = body as Readonly<Record<string, unknown>>;
  const unknown = Object.keys(record).filter((key) => key !== 'connector' && key !== 'ids');
  if (unknown.length > 0) {
    throw new DashboardRequestError(400, `${expected}; unknown key(s): ${unknown.join(', ')}`);
  }
  const { connector, ids } = record;
  if (typeof connector !== 'string' || connector === '') {
    throw new DashboardRequestError(400, `${expected}; "connector" is ${describeValue(connector)}`);
  }
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > MAX_IDS ||
    ids.some((id) => typeof id !== 'string' || id === '')
  ) {
    throw new DashboardRequestError(
      400,
      `${expected}; "ids" must be 1 to ${MAX_IDS} non-empty strings, got ${describeValue(ids)}`,
    );
  }
  return { connector, ids: ids as string[] };
}
