import type { Logger } from '../core/logger.js';
import { describeError } from '../core/describe-error.js';
import { awaitEventually } from './await-eventually.js';
import { boundedWait } from './bounded-wait.js';
import { runnerSpan } from './runner-span.js';
import { ResourceInitError } from './resource-init-error.js';
import type { ShutdownSignals } from './shutdown-signals.js';
import type { ResourceContext } from './task-context.js';

/** What the runner may call on a connector or service besides its own API. */
interface ManagedResource {
  init?: () => unknown;
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
   * Builds a resource with `factory` and awaits its optional `init()`. A resource whose
   * `init` fails is still closed by {@link closeAll}: it may hold part of what it acquired.
   *
   * @throws ResourceInitError when the factory or `init` throws.
   */
  async create(
    kind: string,
    name: string,
    factory: (context: ResourceContext) => unknown,
    context: ResourceContext,
  ): Promise<unknown> {
    let resource: unknown;
    try {
      resource = await factory(context);
    } catch (error) {
      throw new ResourceInitError(kind, name, error);
    }
    const managed = (
      typeof resource === 'object' && resource !== null ? resource : {}
    ) as ManagedResource;
    this.open.push({ kind, name, resource: managed });
    if (typeof managed.init === 'function') {
      try {
        await awaitEventually(managed.init());
      } catch (error) {
        throw new ResourceInitError(kind, name, error);
      }
    }
    this.log.info(`${kind} ${name} ready`);
    return resource;
  }

  /**
   * Closes every resource in reverse creation order, each awaited (at most `timeout` ms, less
   * once the stop is forced); a failing close is logged and the rest still close.
   */
  async closeAll(timeout: number): Promise<void> {
    while (this.open.length > 0) {
      const { kind, name, resource } = this.open.pop() as OpenResource;
      if (typeof resource.close !== 'function') continue;
      try {
        const closed = await runnerSpan(`close ${kind} ${name}`, {}, () => {
          const closing = Promise.resolve().then(() => awaitEventually(resource.close?.()));
          return boundedWait(closing, this.shutdown, timeout);
        });
        if (closed) this.log.info(`${kind} ${name} closed`);
        else this.log.warn(`${kind} ${name} did not close in time; abandoned`);
      } catch (error) {
        this.log.error(`${kind} ${name} failed to close: ${describeError(error)}`);
      }
    }
  }
}
