import {
  defer,
  from,
  isObservable,
  lastValueFrom,
  Observable,
  type Subscription,
  type Subscriber,
} from 'rxjs';
import type {
  Connector,
  ConnectorHealth,
  ConnectorScheduling,
  DispatchContext,
  DispatchFailure,
  DispatchReport,
  Eventually,
  FetchRequest,
} from './connector.js';
import { awaitEventually } from './connector.js';
import {
  ConnectorClosedError,
  ConnectorContractError,
  PartitionCapabilityError,
  PartitionConfigError,
  SettlementError,
} from './errors.js';
import type { SettleDecision } from './outcome.js';
import { describeError, describeValue } from './renderers.js';
import type { Transaction } from './transaction.js';
import { fnv1a32, transactionKey } from './transaction-key.js';

/** What {@link partitionedConnector} is built from. */
export interface PartitionedConnectorOptions<P> {
  /**
   * The partitions, in a fixed order: partition `i` is `partitions[i]`. Every process that
   * dispatches or consumes must list the same destinations in the same order, since the
   * order is what the key hash picks from.
   */
  readonly partitions: readonly Connector<P>[];
  /**
   * The partition indexes this process fetches from (default: all). Give each worker its
   * own share, e.g. with {@link workerPartitions}; `[]` for a process that only dispatches.
   */
  readonly consume?: readonly number[];
}

/** A worker's place in a pool, as a runner `ResourceContext` has it. */
export interface WorkerSlot {
  /** 1 … `workers` in a pool; 0 (or 1) for a process that runs alone. */
  readonly workerId: number;
  /** How many worker processes consume the partitions. */
  readonly workers: number;
}

function isConnector(value: unknown): value is Connector {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { fetch?: unknown }).fetch === 'function'
  );
}

/** The name of partition `index` in messages: its system and destination, when it has them. */
function partitionName(partition: Connector, index: number): string {
  const where = [partition.system, partition.destination].filter(
    (part): part is string => typeof part === 'string' && part !== '',
  );
  return where.length === 0 ? `partition ${index}` : `partition ${index} (${where.join(' ')})`;
}

/** One partition's part of a fetch. */
interface PartFetch {
  readonly partition: number;
  emitted: number;
  done: boolean;
  subscription: Subscription | undefined;
}

/**
 * Several connectors used as the partitions of one: what makes order per key hold across
 * worker processes on a broker that hands one queue's messages to any consumer (RabbitMQ,
 * Redis Streams, NATS JetStream). Build it with {@link partitionedConnector}.
 *
 * - **dispatch** sends each transaction to partition `fnv1a32(key) mod N`, where `key` is
 *   `metadata.key` (see `transactionKey`); a transaction without a key goes to
 *   `fnv1a32(id) mod N`, so a retried batch reaches the same partitions (and their
 *   duplicate detection) again. Each partition's `dispatch` is called once per batch, with
 *   its share in batch order, all in parallel; their reports are merged (failures name the
 *   transactions given, in batch order). A partition whose whole share was rejected has its
 *   transactions reported failed with that error, unless every share was rejected: then the
 *   dispatch rejects with the first error, as one connector would.
 * - **fetch** asks the consumed partitions for shares of `size` that differ by at most one,
 *   the larger shares rotating from fetch to fetch, so over N fetches each partition is
 *   asked for the same number; a partition with a backlog can never take another's turn.
 *   The parts run in parallel; as soon as one part completed with transactions, the parts
 *   that have delivered nothing yet are cancelled (unsubscribed), so an idle partition's
 *   `fetchWait` never delays a busy one. In total a fetch returns at most `size` (unless a
 *   partition returns more than its share, which is passed on as it came). A partition's
 *   fetch error fails the fetch (the engine retries it under `fetch.retry`).
 * - **settle** goes to the partition the transaction was fetched from (remembered in a
 *   `WeakMap`, forgotten once settled); settling one this connector did not fetch throws
 *   `SettlementError`.
 * - `health`, `count` (of the consumed partitions), `fetchById`, `init` and `close` fan out.
 *
 * Order per key across processes holds when each partition is fetched by exactly one
 * process at a time (see {@link workerPartitions}): a key's transactions all sit in one
 * partition, in dispatch order, and one engine with a task `key` runs them one after the
 * other.
 */
export class PartitionedConnector<P = unknown> implements Connector<P> {
  readonly system: string | undefined;
  readonly destination: string | undefined;
  /** What every partition can schedule (a flag is `true` only when it is for all of them). */
  readonly scheduling: ConnectorScheduling;
  /** The partitions, by index. */
  readonly partitions: readonly Connector<P>[];
  /** The partition indexes `fetch` reads, in the order given. */
  readonly consumed: readonly number[];
  private readonly origins = new WeakMap<Transaction<P>, number>();
  /** Where the next fetch starts handing out the larger shares. */
  private cursor = 0;
  private closing: Promise<void> | null = null;

  constructor(options: PartitionedConnectorOptions<P>) {
    const partitions: unknown = (options as Partial<PartitionedConnectorOptions<P>>).partitions;
    if (!Array.isArray(partitions) || partitions.length === 0) {
      throw new PartitionConfigError(
        `partitionedConnector needs a non-empty list of partitions (connectors), got ${describeValue(partitions)}: list one connector per partition, the same list in every process`,
      );
    }
    (partitions as unknown[]).forEach((partition, index) => {
      if (!isConnector(partition)) {
        throw new PartitionConfigError(
          `partition ${index} of partitionedConnector is not a connector (no fetch method): ${describeValue(partition)}`,
        );
      }
    });
    this.partitions = Object.freeze([...(partitions as Connector<P>[])]);
    this.consumed = Object.freeze(checkConsume(options.consume, this.partitions.length));
    const systems = new Set(this.partitions.map((partition) => partition.system));
    const [system] = systems;
    this.system = systems.size === 1 ? system : undefined;
    const destinations = this.consumed.map((index) => this.partitions[index]?.destination);
    this.destination = destinations.every((name) => typeof name === 'string')
      ? destinations.join(',') || undefined
      : undefined;
    const all = (flag: keyof ConnectorScheduling): boolean =>
      this.partitions.every((partition) => partition.scheduling?.[flag] === true);
    this.scheduling = Object.freeze({
      delayedRelease: all('delayedRelease'),
      notBefore: all('notBefore'),
      priority: all('priority'),
    });
  }

  /**
   * The partition a transaction is dispatched to: `fnv1a32(metadata.key) mod N`, or
   * `fnv1a32(id) mod N` when it has no key (see `transactionKey`).
   *
   * @example
   * ```ts
   * connector.partitionFor(createTransaction(order, { metadata: { key: 'ada' } })); // e.g. 2
   * ```
   */
  partitionFor(transaction: Transaction): number {
    return fnv1a32(transactionKey(transaction) ?? transaction.id) % this.partitions.length;
  }

  fetch(request: FetchRequest): Observable<Transaction<P>> {
    return new Observable<Transaction<P>>((subscriber) => {
      if (this.closing !== null) {
        subscriber.error(new ConnectorClosedError('the partitioned connector is closed'));
        return;
      }
      return this.fetchParts(request, subscriber);
    });
  }

  settle(transaction: Transaction<P>, decision: SettleDecision): Eventually<void> {
    const index = this.origins.get(transaction);
    if (index === undefined) {
      throw new SettlementError(
        `transaction ${transaction.id} was not fetched through this partitioned connector, or was settled already: settle each fetched transaction once, through the connector that fetched it`,
      );
    }
    this.origins.delete(transaction);
    return (this.partitions[index] as Connector<P>).settle?.(transaction, decision);
  }

  async dispatch(
    transactions: readonly Transaction<P>[],
    context?: DispatchContext,
  ): Promise<DispatchReport<P>> {
    if (this.closing !== null)
      throw new ConnectorClosedError('the partitioned connector is closed');
    const shares = new Map<number, Transaction<P>[]>();
    for (const transaction of transactions) {
      const index = this.partitionFor(transaction);
      const share = shares.get(index);
      if (share === undefined) shares.set(index, [transaction]);
      else share.push(transaction);
    }
    for (const index of shares.keys()) {
      const partition = this.partitions[index] as Connector<P>;
      if (typeof partition.dispatch !== 'function') {
        throw new PartitionCapabilityError(
          index,
          'dispatch',
          `${partitionName(partition, index)} cannot dispatch (its connector has no dispatch method), and ${shares.get(index)?.length ?? 0} transaction(s) of the batch hash to it: give every partition a connector that can dispatch, or dispatch through the destinations' own connectors`,
        );
      }
    }
    const entries = [...shares];
    const results = await Promise.allSettled(
      entries.map(async ([index, share]) =>
        awaitEventually((this.partitions[index] as Connector<P>).dispatch?.(share, context)),
      ),
    );
    const firstRejection = results.find((result) => result.status === 'rejected');
    if (firstRejection !== undefined && results.every((result) => result.status === 'rejected')) {
      throw firstRejection.reason;
    }
    const failed = new Map<Transaction<P>, unknown>();
    results.forEach((result, position) => {
      const [index, share] = entries[position] as [number, Transaction<P>[]];
      if (result.status === 'rejected') {
        for (const transaction of share) failed.set(transaction, result.reason);
        return;
      }
      for (const failure of reportedFailures(result.value, index)) {
        failed.set(original(share, failure.transaction, index), failure.error);
      }
    });
    if (failed.size === 0) return { failed: [] };
    return {
      failed: transactions
        .filter((transaction) => failed.has(transaction))
        .map((transaction) => ({ transaction, error: failed.get(transaction) })),
    };
  }

  /** The first partition that finds `id` (partitions without `fetchById` are skipped). */
  fetchById(id: string): Observable<Transaction<P> | undefined> {
    return defer(async () => {
      let searched = 0;
      for (const [index, partition] of this.partitions.entries()) {
        if (typeof partition.fetchById !== 'function') continue;
        searched++;
        const found = await lastValueFrom(from(partition.fetchById(id)), {
          defaultValue: undefined,
        });
        if (found !== undefined) {
          this.origins.set(found, index);
          return found;
        }
      }
      if (searched === 0) {
        throw new PartitionCapabilityError(
          0,
          'fetchById',
          `no partition of this partitioned connector can look transactions up by id (none has fetchById), so transaction "${id}" cannot be found`,
        );
      }
      return undefined;
    });
  }

  /** The sum of the consumed partitions' counts. */
  count(): Observable<number> {
    return defer(async () => {
      const counts = await Promise.all(
        this.consumed.map(async (index) => {
          const partition = this.partitions[index] as Connector<P>;
          if (typeof partition.count !== 'function') {
            throw new PartitionCapabilityError(
              index,
              'count',
              `${partitionName(partition, index)} cannot count what waits in it (its connector has no count method)`,
            );
          }
          return lastValueFrom(from(partition.count()));
        }),
      );
      return counts.reduce((sum, count) => sum + count, 0);
    });
  }

  /**
   * Healthy when every partition is (a partition without `health` counts as healthy); the
   * state is the partitions' common state, else `mixed`; `detail` names each partition's.
   */
  health(): Observable<ConnectorHealth> {
    return defer(async () => {
      if (this.closing !== null) return { healthy: false, state: 'closed' };
      const reports = await Promise.all(
        this.partitions.map(async (partition): Promise<ConnectorHealth> => {
          if (typeof partition.health !== 'function') return { healthy: true, state: 'unknown' };
          try {
            return await lastValueFrom(from(partition.health()));
          } catch (error) {
            return { healthy: false, state: 'unknown', detail: describeError(error) };
          }
        }),
      );
      const states = new Set(reports.map((report) => report.state));
      const [state = 'unknown'] = states;
      return {
        healthy: reports.every((report) => report.healthy),
        state: states.size === 1 ? state : 'mixed',
        detail: reports
          .map(
            (report, index) =>
              `partition ${index}: ${report.state}${report.detail === undefined ? '' : ` (${report.detail})`}`,
          )
          .join('; '),
      };
    });
  }

  /** Awaits the optional `init({ signal })` of every partition (the runner calls it). */
  async init(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    await Promise.all(
      this.partitions.map(async (partition) => {
        const init: unknown = (partition as { init?: unknown }).init;
        if (typeof init === 'function') {
          await awaitEventually(
            (init as (options: { readonly signal?: AbortSignal }) => Eventually<unknown>).call(
              partition,
              options,
            ),
          );
        }
      }),
    );
  }

  /**
   * Closes every partition (in parallel); rejects with the first failure once all were
   * tried. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const results = await Promise.allSettled(
        this.partitions.map((partition) => awaitEventually(partition.close?.())),
      );
      const failure = results.find((result) => result.status === 'rejected');
      if (failure !== undefined) throw failure.reason;
    })();
    return this.closing;
  }

  /** Each consumed partition's share of `size`: equal, give or take one, rotating. */
  private shares(size: number): { readonly partition: number; readonly size: number }[] {
    const count = this.consumed.length;
    if (count === 0 || size < 1) return [];
    const base = Math.floor(size / count);
    const extra = size % count;
    const shares: { partition: number; size: number }[] = [];
    for (let offset = 0; offset < count; offset++) {
      const share = base + (offset < extra ? 1 : 0);
      if (share === 0) break;
      shares.push({
        partition: this.consumed[(this.cursor + offset) % count] as number,
        size: share,
      });
    }
    this.cursor = (this.cursor + extra) % count;
    return shares;
  }

  private fetchParts(request: FetchRequest, subscriber: Subscriber<Transaction<P>>): () => void {
    const parts: PartFetch[] = [];
    let starting = true;
    let open = 0;
    const teardown = (): void => {
      for (const part of parts) part.subscription?.unsubscribe();
    };
    const finish = (part: PartFetch): void => {
      if (part.done) return;
      part.done = true;
      open--;
    };
    const progress = (): void => {
      if (starting || subscriber.closed) return;
      if (parts.some((part) => part.done && part.emitted > 0)) {
        for (const part of parts) {
          if (part.done || part.emitted > 0) continue;
          finish(part);
          part.subscription?.unsubscribe();
        }
      }
      if (open === 0) subscriber.complete();
    };
    for (const share of this.shares(request.size)) {
      if (subscriber.closed) break;
      const part: PartFetch = {
        partition: share.partition,
        emitted: 0,
        done: false,
        subscription: undefined,
      };
      parts.push(part);
      open++;
      const partition = this.partitions[share.partition] as Connector<P>;
      let source: unknown;
      try {
        source = partition.fetch({ ...request, size: share.size });
      } catch (error) {
        subscriber.error(error);
        break;
      }
      if (!isObservable(source)) {
        subscriber.error(
          new ConnectorContractError(
            `${partitionName(partition, share.partition)}: fetch must return an Observable of transactions, got ${describeValue(source)}`,
          ),
        );
        break;
      }
      part.subscription = (source as Observable<Transaction<P>>).subscribe({
        next: (transaction) => {
          part.emitted++;
          this.origins.set(transaction, share.partition);
          subscriber.next(transaction);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          finish(part);
          progress();
        },
      });
    }
    starting = false;
    progress();
    return teardown;
  }
}

/** The `consume` option checked: integers in range, no repeats; default all partitions. */
function checkConsume(consume: readonly number[] | undefined, count: number): number[] {
  if (consume === undefined) return Array.from({ length: count }, (_, index) => index);
  if (!Array.isArray(consume)) {
    throw new PartitionConfigError(
      `partitionedConnector consume must be a list of partition indexes, got ${describeValue(consume)}`,
    );
  }
  const seen = new Set<number>();
  for (const index of consume as unknown[]) {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) {
      throw new PartitionConfigError(
        `partitionedConnector consume lists ${typeof index === 'number' ? String(index) : describeValue(index)}, but partition indexes run from 0 to ${count - 1} (${count} partitions): list indexes of the partitions given, e.g. workerPartitions(${count}, context)`,
      );
    }
    if (seen.has(index)) {
      throw new PartitionConfigError(
        `partitionedConnector consume lists partition ${index} twice: list each partition once`,
      );
    }
    seen.add(index);
  }
  return [...(consume as number[])];
}

/** The failures of a partition's report, checked. */
function reportedFailures<P>(
  report: DispatchReport<P> | void | undefined,
  index: number,
): readonly DispatchFailure<P>[] {
  if (report === undefined) return [];
  const failed: unknown = (report as Partial<DispatchReport<P>> | null)?.failed;
  if (!Array.isArray(failed)) {
    throw new ConnectorContractError(
      `partition ${index}: dispatch must resolve with nothing or a { failed: [...] } report, got ${describeValue(report)}`,
    );
  }
  return failed as DispatchFailure<P>[];
}

/** The transaction of `share` a failure names: the same object, else the first with its id. */
function original<P>(
  share: readonly Transaction<P>[],
  named: Transaction<P> | undefined,
  index: number,
): Transaction<P> {
  if (named !== undefined && share.includes(named)) return named;
  const id: unknown = (named as Partial<Transaction> | undefined)?.id;
  const found = share.find((transaction) => transaction.id === id);
  if (found === undefined) {
    throw new ConnectorContractError(
      `partition ${index}: dispatch reported a failure for ${describeValue(named)}, which is not a transaction of the share it was given`,
    );
  }
  return found;
}

/**
 * A connector over `partitions`: routes each dispatched transaction by its `metadata.key`
 * (FNV-1a 32-bit hash of the UTF-8 key, mod the number of partitions; a transaction without
 * a key by its id), fetches from the `consume` partitions in fair shares, and settles each
 * transaction with the partition it came from. See {@link PartitionedConnector}.
 *
 * Order per key across W worker processes: give all of them the same partition list, and
 * worker i (0-based) `consume: workerPartitions(N, context)` = the partitions p with
 * `p mod W = i`, so each partition has exactly one consumer; the task's `key` keeps the
 * order within the worker. On RabbitMQ, declare the partition queues with
 * `singleActiveConsumer: true` as well, so two workers that consume one partition by mistake
 * still take turns instead of running it concurrently.
 *
 * @example
 * ```ts
 * const partitions = [0, 1, 2, 3].map(
 *   (p) => new RabbitmqConnector<Order>({ queue: `orders.p${p}`, singleActiveConsumer: true }),
 * );
 * // in the producer
 * const producer = partitionedConnector({ partitions, consume: [] });
 * await producer.dispatch([createTransaction(order, { metadata: { key: order.customer } })]);
 * // in worker 1 of 2 (runner: workerId 1, workers 2): partitions 0 and 2
 * const orders = partitionedConnector({ partitions, consume: workerPartitions(4, { workerId: 1, workers: 2 }) });
 * consume(orders, consumerTask({ key: (tx) => transactionKey(tx), process: apply }), {
 *   loop: { mode: 'continuous', concurrency: { value: 16 }, streaming: true },
 * }).subscribe();
 * ```
 * @throws PartitionConfigError when `partitions` is empty (or holds a non-connector), or
 *   `consume` lists an index out of range, twice, or not an integer.
 */
export function partitionedConnector<P>(
  options: PartitionedConnectorOptions<P>,
): PartitionedConnector<P> {
  return new PartitionedConnector(options);
}

/**
 * The partitions worker `workerId` of `workers` consumes: every p in 0 … `partitionCount` − 1
 * with `p mod workers = workerId − 1`. `workerId` and `workers` are what the runner's
 * `ResourceContext` holds (1 … N in a pool; a process alone, workerId 0, takes them all).
 * With more workers than partitions, the extra workers get none (they idle).
 *
 * @example
 * ```ts
 * workerPartitions(4, { workerId: 1, workers: 2 }); // [0, 2]
 * workerPartitions(4, { workerId: 2, workers: 2 }); // [1, 3]
 * workerPartitions(4, { workerId: 0, workers: 1 }); // [0, 1, 2, 3]
 * ```
 * @throws PartitionConfigError for a worker id outside 1 … `workers` (0 only when alone).
 */
export function workerPartitions(partitionCount: number, worker: WorkerSlot): number[] {
  const { workerId, workers } = worker;
  if (!Number.isSafeInteger(partitionCount) || partitionCount < 1) {
    throw new PartitionConfigError(
      `workerPartitions needs a partition count of at least 1, got ${describeValue(partitionCount)}`,
    );
  }
  if (!Number.isSafeInteger(workers) || workers < 1) {
    throw new PartitionConfigError(
      `workerPartitions needs a worker count of at least 1, got ${describeValue(workers)}`,
    );
  }
  const alone = workers === 1 && (workerId === 0 || workerId === 1);
  if (!alone && (!Number.isSafeInteger(workerId) || workerId < 1 || workerId > workers)) {
    throw new PartitionConfigError(
      `workerPartitions got worker id ${describeValue(workerId)} of ${workers} workers: worker ids run from 1 to ${workers} (0 only for a process that runs alone)`,
    );
  }
  const index = alone ? 0 : workerId - 1;
  const mine: number[] = [];
  for (let partition = index; partition < partitionCount; partition += workers) {
    mine.push(partition);
  }
  return mine;
}
