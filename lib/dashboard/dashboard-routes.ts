import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
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

/**
 * The dashboard's HTTP routes, for a server the runner owns (the same one that answers
 * `/healthz` and `/readyz`): the page (`/`, its script and style, uPlot), `GET /api/status`,
 * `GET /api/failures` and `GET /api/events`, a server-sent event stream (`status` once a
 * second, `failure` as each happens; the first `status` carries the whole chart history).
 * Only `GET` and `HEAD`; anything else is 405, an unknown path 404.
 *
 * @example
 * ```ts
 * const routes = new DashboardRoutes(monitor);
 * const server = await startHealthServer(9400, probe, '127.0.0.1', (req, res) => routes.handle(req, res));
 * ```
 */
export class DashboardRoutes {
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly monitor: RunMonitor) {}

  /** Answers a request; returns `false` for a path that is not the dashboard's. */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const file = files[path];
    const api = path.startsWith('/api/');
    if (file === undefined && !api) return false;
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

function json(response: ServerResponse, body: unknown, status = 200): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-cache',
  });
  response.end(JSON.stringify(body));
}

function send(response: ServerResponse, event: string, data: unknown): void {
  response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
