import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** What the health endpoints ask: whether the run (every worker of a pool) is alive, and ready. */
export interface HealthProbe {
  /** `/healthz`: nothing is stuck (a pool: every worker runs and its heartbeats are fresh). */
  readonly alive: () => boolean;
  /** `/readyz`: alive, past `starting`, not stopping (and, in a process, nothing unhealthy). */
  readonly ready: () => boolean;
  /** Why it is not alive or ready, one line, for the body of a 503. */
  readonly detail?: () => string | undefined;
}

/** Problems as one line, for the body of a 503 (`undefined` when there are none). */
export function problemsDetail(
  problems: readonly { readonly detail: string }[],
): string | undefined {
  return problems.length === 0 ? undefined : problems.map((problem) => problem.detail).join('; ');
}

/** More routes on the same server (the dashboard's); returns `false` for a path it does not serve. */
export type ExtraRoutes = (request: IncomingMessage, response: ServerResponse) => boolean;

/** Where the health endpoints listen by default: this machine only. */
const DEFAULT_HEALTH_HOST = '127.0.0.1';

/** How long a client may take to send a whole request before its connection is closed. */
const REQUEST_TIMEOUT = 5_000;

/**
 * Serves `GET /healthz` and `GET /readyz` (200 when the probe says so, 503 with the probe's
 * detail otherwise; `extra` routes, else 404, for anything else) on `host:port` (port 0: any free port; host default `127.0.0.1`, `0.0.0.0`
 * or `::` for every interface). A client that sends its request slower than 5 s is cut off.
 * Resolves the listening server; rejects (with the `listen` error, e.g. `EADDRINUSE`) when
 * it cannot listen. Stop it with {@link stopHealthServer}, which does not wait for clients.
 *
 * @example
 * ```ts
 * const server = await startHealthServer(8080, { alive: () => true, ready: () => true });
 * await stopHealthServer(server);
 * ```
 */
export function startHealthServer(
  port: number,
  probe: HealthProbe,
  host: string = DEFAULT_HEALTH_HOST,
  extra?: ExtraRoutes,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    const check = path === '/healthz' ? probe.alive : path === '/readyz' ? probe.ready : undefined;
    if (check === undefined) {
      if (extra?.(request, response) !== true) response.writeHead(404).end();
      return;
    }
    const ok = check();
    const detail = ok ? undefined : probe.detail?.();
    response
      .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
      .end(ok ? 'ok\n' : `unavailable${detail === undefined ? '' : `: ${detail}`}\n`);
  });
  server.requestTimeout = REQUEST_TIMEOUT;
  server.headersTimeout = REQUEST_TIMEOUT;
  return new Promise<Server>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * Stops a health server now: stops listening and closes every connection, idle, keep-alive
 * or half-sent (the probes answer at once, so no response is ever cut short). A slow or
 * stuck client cannot hold the process's shutdown open.
 */
export function stopHealthServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
