import { trace, type Attributes } from '@opentelemetry/api';
import type { Logger } from '../../core/logging.js';
import { describeError } from '../../core/renderers.js';
import { failSpan } from '../../engine/internal/instrumentation/run-telemetry.js';
import type { ResourceContext } from '../define-task.js';
import { ResourceInitError, StartupCancelledError } from '../runner-errors.js';
import { awaitEventually } from '../../core/connector.js';
import { finishedBeforeCutoff, type ShutdownSignals } from './shutdown-signals.js';

/** What the runner may call on a connector or service besides its own API. */
interface ManagedResource {
  init?: (options: { readonly signal: AbortSignal }) => unknown;
  close?: () => unknown;
}

interface OpenResource {
  readonly kind: string;
  readonly name: string;
  readonly resource: ManagedResource;
}

/**
 * The connectors and services of one run, in creation order: {@link create} builds and
 * initialises one, {@link closeAll} closes all of them in reverse order.
 */
export class ResourceStack {
  private readonly open: OpenResource[] = [];

  constructor(
    private readonly log: Logger,
    private readonly shutdown: ShutdownSignals,
  ) {}

  /**
   * Builds a resource with `factory` and awaits its optional `init({ signal })`. A resource
   * whose `init` fails is still closed by {@link closeAll}: it may hold part of what it
   * acquired. A stop during start-up aborts the `signal` the factory and `init` got; the wait
   * for them is then bounded by the stop's deadline, after which the start is abandoned (a
   * resource that still arrives later is closed at once).
   *
   * @throws ResourceInitError when the factory or `init` throws.
   * @throws StartupCancelledError when the run was stopped before the resource was ready.
   */
  async create(
    kind: string,
    name: string,
    factory: (context: ResourceContext) => unknown,
    context: ResourceContext,
  ): Promise<unknown> {
    const built = Promise.resolve().then(() => factory(context));
    const resource = await this.startStep(kind, name, 'factory', built, (late) =>
      closeQuietly(managed(late)),
    );
    const resourceManaged = managed(resource);
    this.open.push({ kind, name, resource: resourceManaged });
    if (typeof resourceManaged.init === 'function') {
      const init = resourceManaged.init.bind(resourceManaged);
      const initialised = Promise.resolve().then(() =>
        awaitEventually(init({ signal: this.shutdown.signal })),
      );
      await this.startStep(kind, name, 'init()', initialised, () => undefined);
    }
    this.log.info(`${kind} ${name} ready`);
    return resource;
  }

  /**
   * Awaits one start-up step (bounded once a stop began); a failure becomes a
   * {@link ResourceInitError}, or a {@link StartupCancelledError} when the run was stopped.
   */
  private async startStep<T>(
    kind: string,
    name: string,
    step: string,
    work: Promise<T>,
    lateArrival: (value: T) => void,
  ): Promise<T> {
    let value: T | undefined;
    let done: boolean;
    try {
      done = await finishedBeforeCutoff(
        work.then((result) => void (value = result)),
        this.shutdown,
      );
    } catch (error) {
      if (this.shutdown.stopped && this.shutdown.failure === undefined) {
        throw new StartupCancelledError(kind, name, step, false, error);
      }
      throw new ResourceInitError(kind, name, error);
    }
    if (!done) {
      work.then(lateArrival, () => undefined);
      throw new StartupCancelledError(kind, name, step, true);
    }
    return value as T;
  }

  /**
   * Closes every resource in reverse creation order, each awaited until the stop's one
   * deadline (see {@link ShutdownSignals.cutoff}); a failing close is logged and the rest still
   * close. Resolves whether every close finished in time.
   */
  async closeAll(): Promise<boolean> {
    let allClosed = true;
    while (this.open.length > 0) {
      const { kind, name, resource } = this.open.pop() as OpenResource;
      if (typeof resource.close !== 'function') continue;
      try {
        const closed = await runnerSpan(`close ${kind} ${name}`, {}, () => {
          const closing = Promise.resolve().then(() => awaitEventually(resource.close?.()));
          return finishedBeforeCutoff(closing, this.shutdown);
        });
        if (closed) this.log.info(`${kind} ${name} closed`);
        else {
          allClosed = false;
          this.log.warn(`${kind} ${name} did not close before the stop's deadline; abandoned`);
        }
      } catch (error) {
        this.log.error(`${kind} ${name} failed to close: ${describeError(error)}`);
      }
    }
    return allClosed;
  }
}

/** What the runner may call on any value a factory returned. */
function managed(resource: unknown): ManagedResource {
  return typeof resource === 'object' && resource !== null ? resource : {};
}

/** Closes a resource nobody waits for any more (its start was abandoned). */
function closeQuietly(resource: ManagedResource): void {
  try {
    Promise.resolve(resource.close?.()).catch(() => undefined);
  } catch {
    // Abandoned: nothing left to report to.
  }
}

/**
 * Runs one step of a task's life (`create connector orders`, `run`, `close service db`, …)
 * inside a span of the `ergon-rx.runner` tracer, active for the step's own async work; a step
 * that throws marks its span failed (whatever it threw). A no-op span when no SDK is registered.
 *
 * @example
 * ```ts
 * const connector = await runnerSpan('create connector orders', {}, () => factory(context));
 * ```
 */
export function runnerSpan<T>(
  name: string,
  attributes: Attributes,
  step: () => Promise<T>,
): Promise<T> {
  return trace.getTracer('ergon-rx.runner').startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await step();
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}
