import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { reviveThreadError, ThreadExitError, ThreadPayloadError } from './thread-errors.js';
import type { ThreadRequest, ThreadResponse } from './thread-messages.js';

const fromSource = import.meta.url.endsWith('.ts');

/** The thread script: the `.ts` source under tsx, the built `.js` under plain Node. */
const entry = new URL(fromSource ? './thread-entry.ts' : './thread-entry.js', import.meta.url);

/** The URL of tsx's ESM `register` API (its `tsx/esm/api` import export), if tsx is installed. */
function tsxApiUrl(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
    const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as {
      exports?: Record<string, { import?: { default?: string } } | string>;
    };
    const target = exports?.['./esm/api'];
    const path = typeof target === 'object' ? target.import?.default : undefined;
    return path === undefined ? undefined : new URL(path, pathToFileURL(manifest)).href;
  } catch {
    return undefined;
  }
}

/**
 * tsx registers its loader in the main thread only (on Node 20 `--import tsx` is a no-op in
 * workers), so when this process runs under tsx each thread registers it before loading the
 * entry: the thread script and `.ts` target modules then load as they do here.
 */
function findThreadScript(): ThreadScript {
  const underTsx =
    process.execArgv.some((option) => option.includes('tsx')) ||
    (process.env['NODE_OPTIONS'] ?? '').includes('tsx');
  if (fromSource || underTsx) {
    const api = tsxApiUrl();
    if (api !== undefined) {
      const script =
        `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); ` +
        `return import(${JSON.stringify(entry.href)}); });`;
      return { script, eval: true };
    }
  }
  return { script: entry, eval: false };
}

interface ThreadScript {
  readonly script: string | URL;
  readonly eval: boolean;
}

let threadScript: ThreadScript | undefined;

/** How each thread starts. */
export interface ThreadOptions {
  readonly resourceLimits?: ResourceLimits | undefined;
  readonly execArgv?: readonly string[] | undefined;
}

type Settlement =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * One worker thread of a pool: runs one request at a time. It keeps the process alive only
 * while it runs a call. `onGone` is called once when the thread exits or is terminated.
 */
export class PoolThread {
  private readonly worker: Worker;
  private pending: Pending | undefined;
  private gone = false;

  constructor(
    options: ThreadOptions,
    private readonly onGone: (thread: PoolThread) => void,
  ) {
    threadScript ??= findThreadScript();
    const { script, eval: isEval } = threadScript;
    this.worker = new Worker(script, {
      eval: isEval,
      resourceLimits: options.resourceLimits,
      execArgv: options.execArgv === undefined ? undefined : [...options.execArgv],
    });
    this.worker.unref();
    this.worker.on('message', (response: ThreadResponse) => {
      this.settle(response.ok ? response : { ok: false, error: reviveThreadError(response.error) });
    });
    this.worker.on('messageerror', (error) => this.settle({ ok: false, error }));
    this.worker.on('error', (error) => {
      // An uncaught error: the thread is exiting, so it must take no further call.
      this.settle({ ok: false, error });
      this.markGone();
    });
    this.worker.on('exit', (code) => {
      const error = new ThreadExitError(`thread exited with code ${code} before answering`);
      this.settle({ ok: false, error });
      this.markGone();
    });
  }

  get alive(): boolean {
    return !this.gone;
  }

  /**
   * Runs one request; rejects if the thread dies or is terminated first, and with a
   * {@link ThreadPayloadError} (the thread left idle and unreferenced) when the request
   * cannot be cloned to the thread.
   */
  run(request: ThreadRequest): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref();
      try {
        this.worker.postMessage(request);
      } catch (error) {
        this.settle({
          ok: false,
          error: new ThreadPayloadError(error, request.info.transactionId),
        });
      }
    });
  }

  /** Stops the thread now, even inside a synchronous loop; a pending call rejects. */
  terminate(): Promise<void> {
    this.settle({ ok: false, error: new ThreadExitError('thread terminated') });
    this.markGone();
    return this.worker.terminate().then(() => undefined);
  }

  private settle(result: Settlement): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    if (!this.gone) this.worker.unref();
    if (result.ok) pending.resolve(result.value);
    else pending.reject(result.error);
  }

  private markGone(): void {
    if (this.gone) return;
    this.gone = true;
    this.onGone(this);
  }
}
