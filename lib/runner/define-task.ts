import { fileURLToPath } from 'node:url';
import type { Observable } from 'rxjs';
import type { Connector, Eventually, Service } from '../core/connector.js';
import type { Logger } from '../core/logging.js';
import type { ConsumerPolicyInput } from '../policy/consumer-policy.js';
import type { DurationInput, IntegerInput } from '../policy/codecs/values.js';
import { decodePolicy } from '../policy/codecs/structures.js';
import type { ProducerPolicyInput } from '../policy/producer-policy.js';
import type { TelemetryConfigInput } from '../telemetry/config/telemetry-config.js';
import type { DashboardConfigInput, DashboardSettings } from '../dashboard/dashboard-config.js';
import type { SupervisionConfigInput, SupervisionSettings } from './supervision-config-codec.js';
import { TaskConfigCodec } from './task-config-codec.js';
import type { LogLevelName } from '../telemetry/logging/log-level.js';

/** What connector and service factories receive. */
export interface ResourceContext<P = Readonly<Record<string, unknown>>> {
  /** The task's name. */
  readonly name: string;
  /** Which worker process runs the task (0 when there is one). */
  readonly workerId: number;
  /**
   * How many worker processes run the task (the task's `workers`, 1 when there is one): with
   * `workerId`, what `workerPartitions` takes to give each worker its own partitions.
   */
  readonly workers: number;
  /** The task's named policies, as configured. */
  readonly policies: P;
  /** The task's logger. */
  readonly logger: Logger;
  /** Aborts on the first SIGTERM/SIGINT. */
  readonly signal: AbortSignal;
}

/**
 * What a task's `run` and `exit` receive: its name, worker id, the connectors and services
 * its factories built (typed as the factories return them), its policies, a logger, and the
 * stop signal twice: `stop$` (pass it to `consume(…, { stop$ })` for a graceful drain) and
 * `signal` (an `AbortSignal` for Promise-based runs).
 */
export interface TaskContext<C, S, P> extends ResourceContext<P> {
  readonly connectors: C;
  readonly services: S;
  /** Emits once, on the first SIGTERM/SIGINT, then completes; late subscribers see it too. */
  readonly stop$: Observable<void>;
}

/** Builds a connector for a task (may be async). */
export type ConnectorFactory<C extends Connector = Connector> = (
  context: ResourceContext,
) => C | Promise<C>;

/** Builds a service for a task (may be async); any object is a Service (`close()` is optional). */
export type ServiceFactory<S extends Service & object = object> = (
  context: ResourceContext,
) => S | Promise<S>;

/** Connector factories by name. */
export type ConnectorFactories = Readonly<Record<string, ConnectorFactory>>;
/** Service factories by name. */
export type ServiceFactories = Readonly<Record<string, ServiceFactory>>;
/** Named policy inputs, passed through to the run untouched. */
export type TaskPolicies = Readonly<Record<string, unknown>>;

/** What an object in a task's `policies` is checked against: a consumer or producer policy. */
export type TaskPolicyInput = ConsumerPolicyInput | ProducerPolicyInput;

type KeysOfUnion<T> = T extends unknown ? keyof T : never;
type PropertyOfUnion<T, K extends PropertyKey> = T extends unknown
  ? K extends keyof T
    ? T[K]
    : never
  : never;
type Leaf = string | number | boolean | bigint | symbol | null | undefined;

/**
 * `T` with every key that no object member of `Shape` has, at any depth, typed `never`: an
 * object literal that misspells a key (`concurency`) does not type-check, as it would not if
 * written inline where `Shape` is expected.
 */
type ExactInput<T, Shape> = T extends Leaf | readonly unknown[] | ((...args: never[]) => unknown)
  ? T
  : [Extract<NonNullable<Shape>, object>] extends [never]
    ? T
    : {
        [K in keyof T]: K extends KeysOfUnion<Extract<NonNullable<Shape>, object>>
          ? ExactInput<T[K], PropertyOfUnion<Extract<NonNullable<Shape>, object>, K>>
          : never;
      };

/** A task's `policies` with each object policy checked against {@link TaskPolicyInput}. */
export type CheckedPolicies<P> = {
  readonly [K in keyof P]: P[K] extends object ? ExactInput<P[K], TaskPolicyInput> : P[K];
};

/** What each factory of a record builds, by name. */
export type BuiltBy<F extends Readonly<Record<string, (context: ResourceContext) => unknown>>> = {
  readonly [K in keyof F]: Awaited<ReturnType<F[K]>>;
};

/** The {@link TaskContext} of a task with the given factories and policies. */
export type TaskContextOf<
  CF extends ConnectorFactories,
  SF extends ServiceFactories,
  P extends TaskPolicies,
> = TaskContext<BuiltBy<CF>, BuiltBy<SF>, P>;

/** A task configuration as {@link defineTask} accepts it. */
export interface TaskConfig<
  CF extends ConnectorFactories = ConnectorFactories,
  SF extends ServiceFactories = ServiceFactories,
  P extends TaskPolicies = TaskPolicies,
> {
  /** Non-empty; the logger name and telemetry's task name. */
  readonly name: string;
  /** Created in declaration order before the run (an optional `init()` is awaited). */
  readonly connectors?: CF;
  /** Created after the connectors, in declaration order (an optional `init()` is awaited). */
  readonly services?: SF;
  /** Named policy inputs, handed to the run as they are. */
  readonly policies?: P;
  /** The task: an Observable of outcomes (subscribed once) or a Promise. */
  readonly run: (context: TaskContextOf<CF, SF, P>) => Observable<unknown> | PromiseLike<unknown>;
  /** Called after the run ended (also after a stop or an error), before anything is closed. */
  readonly exit?: (context: TaskContextOf<CF, SF, P>) => Eventually<unknown>;
  /** How long a stopped run may drain before it is cancelled (default `30s`). */
  readonly shutdownGrace?: DurationInput;
  /** A `setupTelemetry` configuration; default: telemetry is not set up. */
  readonly telemetry?: TelemetryConfigInput;
  /** Worker processes (integer ≥ 1, default 1); more than 1 runs a supervised pool. */
  readonly workers?: IntegerInput;
  /**
   * Health endpoints, the run's watchdog (stalls, unhealthy connectors), the event-loop
   * watchdog; heartbeats and restarts of a worker pool.
   */
  readonly supervision?: SupervisionConfigInput;
  /**
   * A live web page of the run (and its JSON API) on `host:port`: throughput, latency, in
   * flight, queue depths, health, the last failures (see docs/operations.md). Default: none.
   */
  readonly dashboard?: DashboardConfigInput;
  /**
   * The level of the task's loggers, the engine's and the handlers' `ctx.logger` (default:
   * the `ERGON_LOG_LEVEL` environment variable, else `info`); also the default of
   * `telemetry.logs.level`.
   */
  readonly logLevel?: LogLevelName | (string & Record<never, never>);
}

const definedTasks = new WeakSet();

/** No connectors, services or policies: a task's defaults when it names none. */
// eslint-disable-next-line @typescript-eslint/no-generated-empty-object-type -- the empty object type is meant: no keys, so naming one is a compile error
type NoEntries = Record<never, never>;

/** A validated task configuration with its defaults filled; what `runTask` runs. */
export interface TaskDefinition<
  CF extends ConnectorFactories = ConnectorFactories,
  SF extends ServiceFactories = ServiceFactories,
  P extends TaskPolicies = TaskPolicies,
> {
  readonly name: string;
  readonly connectors: CF;
  readonly services: SF;
  readonly policies: P;
  readonly run: TaskConfig<CF, SF, P>['run'];
  readonly exit: TaskConfig<CF, SF, P>['exit'];
  /** Milliseconds. */
  readonly shutdownGrace: number;
  readonly telemetry: TelemetryConfigInput | undefined;
  readonly workers: number;
  readonly supervision: SupervisionSettings;
  readonly dashboard: DashboardSettings | undefined;
  readonly logLevel: LogLevelName;
}

/**
 * Validates a task configuration and fills its defaults. The run context is typed from the
 * factories: `context.connectors.orders` has the type the `orders` factory returns. An
 * object in `policies` is type-checked as a consumer or producer policy input: a misspelled
 * key is a compile error (and, at run time, a `PolicyError` with exit code 2).
 *
 * @example
 * ```ts
 * export const orders = defineTask({
 *   name: 'orders',
 *   connectors: { orders: () => new MemoryConnector<Order>({ source: seed }) },
 *   policies: { consume: { loop: { concurrency: { value: 8 } } } },
 *   shutdownGrace: '10s',
 *   run: ({ connectors, policies, stop$ }) =>
 *     consume(connectors.orders, shipOrder, policies.consume, { stop$ }),
 * });
 * process.exitCode = await runTask(orders);
 * ```
 * @throws PolicyError listing every wrong path (a factory that is not a function included).
 */
export function defineTask<
  CF extends ConnectorFactories = NoEntries,
  SF extends ServiceFactories = NoEntries,
  P extends TaskPolicies = NoEntries,
>(
  config: TaskConfig<CF, SF, P> & { readonly policies?: NoInfer<CheckedPolicies<P>> },
): TaskDefinition<CF, SF, P> {
  if (isTaskDefinition(config)) return config;
  const decoded = decodePolicy(TaskConfigCodec, `task configuration`, config);
  const definition = { ...decoded };
  Object.defineProperty(definition, definedBy, { value: packageRoot });
  Object.freeze(definition);
  definedTasks.add(definition);
  return definition as unknown as TaskDefinition<CF, SF, P>;
}

/**
 * The mark every definition carries (not enumerable), shared by every copy of ergon-rx
 * through the global symbol registry; its value is the folder of the copy that made it.
 */
const definedBy = Symbol.for('ergon-rx.taskDefinition');

/** This copy of ergon-rx: the package folder (the checkout when running from sources). */
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Whether `value` came out of {@link defineTask}: of this copy of ergon-rx, or of another
 * one installed beside it (an application's own `node_modules/ergon-rx` while the `ergon`
 * command runs from elsewhere), recognised by the mark every copy puts on its definitions.
 */
export function isTaskDefinition(value: unknown): value is TaskDefinition {
  if (typeof value !== 'object' || value === null) return false;
  if (definedTasks.has(value)) return true;
  return (
    typeof (value as { [definedBy]?: unknown })[definedBy] === 'string' &&
    typeof (value as { run?: unknown }).run === 'function'
  );
}

/** This copy of ergon-rx's folder, for messages about two copies being installed. */
export function ergonPackageRoot(): string {
  return packageRoot;
}
