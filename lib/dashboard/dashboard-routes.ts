import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
import { describeError } from '../core/renderers.js';
import { guardAction, type ActionPolicy } from './action-guard.js';
import type { DashboardDeadLetters } from './dashboard-api.js';
import { DashboardRequestError } from './dashboard-errors.js';
import type { DeadLetterActionName, DeadLetterDesk } from './dead-letter-desk.js';
import type { RunMonitor } from './run-monitor.js';

/** The page's files: in `assets/dashboard/` of the package (two levels up from lib/ and dist/). */
const pageFolder = new URL('../../assets/dashboard/', import.meta.url);

const require = createRequire(import.meta.url);

/** What the dashboard serves, by path: a file and its content type. */
const files: Readonly<
  Record<string, { readonly path: () => string | URL; readonly type: string }>
> = {
  '/': { path: () => new URL('index.html', pageFolder), type: 'text/html; charset=utf-8' },
  '/dashboard.js': {
    path: () => new URL('dashboard.js', pageFolder),
    type: 'text/javascript; charset=utf-8',
  },
  '/dashboard.css': {
    path: () => new URL('dashboard.css', pageFolder),
    type: 'text/css; charset=utf-8',
  },
  // uPlot's browser build, from the installed package (no CDN: the page works offline).
  '/uPlot.iife.min.js': {
    path: () => require.resolve('uplot/dist/uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/uPlot.min.css': {
    path: () => require.resolve('uplot/dist/uPlot.min.css'),
    type: 'text/css; charset=utf-8',
  },
};

/** Sent on an idle event stream so that proxies keep it open. */
const KEEP_ALIVE = 15_000;

/** Largest body an action takes (1000 ids of a few dozen characters fit). */
const MAX_BODY = 256 * 1024;

/** The state-changing routes, by path. */
const actionRoutes: Readonly<Record<string, DeadLetterActionName>> = {
  '/api/dead-letters/redrive': 'redrive',
  '/api/dead-letters/purge': 'purge',
};

/** What the dashboard's dead-letter routes use: the connectors, and who may act. */
export interface DeadLetterRoutesOptions {
  readonly desk: DeadLetterDesk;
  readonly actions: ActionPolicy;
}

/**
 * The dashboard's HTTP routes, for a server the runner owns (the same one that answers
 * `/healthz` and `/readyz`): the page (`/`, its script and style, uPlot), `GET /api/status`,
 * `GET /api/failures` and `GET /api/events`, a server-sent event stream (`status` once a
 * second, `failure` as each happens; the first `status` carries the whole chart history);
 * `GET /api/dead-letters`, and `POST /api/dead-letters/redrive` and `…/purge` with a JSON
 * body `{ connector, ids }` (guarded by {@link guardAction}; a refusal or a failure is
 * `{ "error": "…" }` with its status). Only `GET` and `HEAD` elsewhere; anything else is 405,
 * an unknown path 404.
 *
 * @example
 * ```ts
 * const routes = new DashboardRoutes(monitor, { desk, actions: { enabled: true, allowedHosts: [] } });
 * const server = await startHealthServer(9400, probe, '127.0.0.1', (req, res) => routes.handle(req, res));
 * ```
 */
export class DashboardRoutes {
  private readonly streams = new Set<ServerResponse>();

  constructor(
    private readonly monitor: RunMonitor,
    private readonly deadLetters: DeadLetterRoutesOptions,
  ) {}

  /** Answers a request; returns `false` for a path that is not the dashboard's. */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const file = files[path];
    const api = path.startsWith('/api/');
    if (file === undefined && !api) return false;
    const action = actionRoutes[path];
    if (action !== undefined) {
      this.act(action, request, response).catch((error: unknown) => fail(response, error));
      return true;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    if (file !== undefined) {
      this.serveFile(file.path(), file.type, response);
    } else if (path === '/api/status') {
      json(response, this.monitor.status());
    } else if (path === '/api/failures') {
      json(response, { failures: this.monitor.failures() });
    } else if (path === '/api/events') {
      this.stream(request, response);
    } else if (path === '/api/dead-letters') {
      this.listDeadLetters().then(
        (body) => json(response, body),
        (error: unknown) => fail(response, error),
      );
    } else {
      json(response, { error: `no such API: ${path}` }, 404);
    }
    return true;
  }

  /** Ends every event stream (the server is closing). */
  close(): void {
    for (const response of this.streams) response.end();
    this.streams.clear();
  }

  private async listDeadLetters(): Promise<DashboardDeadLetters> {
    const { actions, desk } = this.deadLetters;
    return { actions: actions.enabled, connectors: await desk.list() };
  }

  private async act(
    action: DeadLetterActionName,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    const { actions, desk } = this.deadLetters;
    guardAction(request, actions);
    const body = await readJson(request);
    const report =
      action === 'redrive' ? await desk.act('redrive', body) : await desk.act('purge', body);
    json(response, report);
  }

  private serveFile(path: string | URL, type: string, response: ServerResponse): void {
    readFile(path).then(
      (content) => {
        response.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
        response.end(content);
      },
      () => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end('dashboard asset missing: reinstall ergon-rx\n');
      },
    );
  }

  private stream(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    this.streams.add(response);
    send(response, 'status', this.monitor.status());
    send(response, 'failures', { failures: this.monitor.failures() });
    const subscription: Subscription = this.monitor.events$.subscribe({
      next: (event) => send(response, event.type, event.data),
      complete: () => response.end(),
    });
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), KEEP_ALIVE);
    keepAlive.unref();
    const finish = (): void => {
      clearInterval(keepAlive);
      subscription.unsubscribe();
      this.streams.delete(response);
    };
    request.on('close', finish);
    response.on('close', finish);
  }
}

function json(
  response: ServerResponse,
  body: unknown,
  status = 200,
  headers: Readonly<Record<string, string>> = {},
): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-cache',
    ...headers,
  });
  response.end(JSON.stringify(body));
}

/** Answers an error: a {@link DashboardRequestError} with its status, anything else 500. */
function fail(response: ServerResponse, error: unknown): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const status = error instanceof DashboardRequestError ? error.status : 500;
  const message = error instanceof DashboardRequestError ? error.message : describeError(error);
  json(response, { error: message }, status, status === 405 ? { allow: 'POST' } : {});
}

/** The request's body parsed as JSON, at most 256 KiB. */
function readJson(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(
          new DashboardRequestError(
            413,
            `the body is over ${MAX_BODY / 1024} KiB: send fewer ids at a time`,
          ),
        );
        // Read the rest without keeping it, so that the answer reaches the client.
        request.removeAllListeners('data');
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        reject(new DashboardRequestError(400, `the body is not JSON (${describeError(error)})`));
      }
    });
  });
}

function send(response: ServerResponse, event: string, data: unknown): void {
  response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
