import { createServer, type Server } from 'node:http';

/** What the health endpoints ask: whether every worker is alive, and ready. */
export interface HealthProbe {
  /** `/healthz`: every worker process is running and its heartbeats are fresh. */
  readonly alive: () => boolean;
  /** `/readyz`: alive, past `starting`, and not stopping. */
  readonly ready: () => boolean;
}

/**
 * Serves `GET /healthz` and `GET /readyz` (200 when the probe says so, 503 otherwise, 404 for
 * anything else) on `port` (0: any free port). Resolves the listening server.
 *
 * @example
 * ```ts
 * const server = await startHealthServer(8080, { alive: () => true, ready: () => true });
 * server.close();
 * ```
 */
export function startHealthServer(port: number, probe: HealthProbe): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    const check = path === '/healthz' ? probe.alive : path === '/readyz' ? probe.ready : undefined;
    if (check === undefined) {
      response.writeHead(404).end();
      return;
    }
    const ok = check();
    response
      .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
      .end(ok ? 'ok\n' : 'unavailable\n');
  });
  return new Promise<Server>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
