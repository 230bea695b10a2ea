import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import { DashboardRequestError } from './dashboard-errors.js';

/** What decides whether the dashboard accepts a state-changing request. */
export interface ActionPolicy {
  /** `dashboard.actions`. */
  readonly enabled: boolean;
  /** Host names accepted besides `localhost` and IP addresses (case-insensitive). */
  readonly allowedHosts: readonly string[];
}

/** The parts of a request the guard reads. */
export interface ActionRequest {
  readonly method?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/** The host name of a `Host` header (`[::1]:9400` → `::1`), lower case; `undefined` if malformed. */
function hostName(host: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed !== null) return bracketed[1]?.toLowerCase();
  const plain = /^([^:[\]\s/]+)(?::\d+)?$/.exec(host);
  return plain?.[1]?.toLowerCase();
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Checks a state-changing request to the dashboard (a redrive, a purge) against what a web page
 * elsewhere could make a browser send to a server on this machine, and throws a
 * {@link DashboardRequestError} naming the first rule it breaks:
 *
 * 1. the method is `POST` (405 otherwise: a link or an image cannot act);
 * 2. `dashboard.actions` is not `false` (403);
 * 3. the body is declared `application/json` (415: a cross-site form cannot send that type, and
 *    a script must first pass a CORS preflight that the dashboard never answers);
 * 4. the `Host` header names `localhost`, an IP address, or a name of `allowedHosts` (403: a
 *    page cannot point a domain of its own at this machine, DNS rebinding);
 * 5. an `Origin` header, when there is one, is `http://` or `https://` (behind a TLS proxy) +
 *    that same host (403);
 * 6. a `Sec-Fetch-Site` header, when there is one, is `same-origin` or `none` (403).
 *
 * @example
 * ```ts
 * guardAction(request, { enabled: settings.actions, allowedHosts: settings.allowedHosts });
 * ```
 */
export function guardAction(request: ActionRequest, policy: ActionPolicy): void {
  if (request.method !== 'POST') {
    throw new DashboardRequestError(405, `${request.method ?? 'this method'} cannot act: use POST`);
  }
  if (!policy.enabled) {
    throw new DashboardRequestError(
      403,
      'dashboard actions are disabled (dashboard.actions: false); use `ergon dlq` instead',
    );
  }
  const type = single(request.headers['content-type'])?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new DashboardRequestError(
      415,
      `send the body as JSON with content-type: application/json (got ${type === undefined || type === '' ? 'none' : type})`,
    );
  }
  const host = single(request.headers.host);
  const name = host === undefined ? undefined : hostName(host);
  const allowed =
    name !== undefined &&
    (name === 'localhost' ||
      isIP(name) !== 0 ||
      policy.allowedHosts.some((allowedHost) => allowedHost.toLowerCase() === name));
  if (!allowed) {
    throw new DashboardRequestError(
      403,
      `host ${JSON.stringify(host ?? '')} is not allowed to act: open the dashboard as localhost or by IP address, or add the name to dashboard.allowedHosts`,
    );
  }
  const origin = single(request.headers.origin);
  const origins = [`http://${host}`, `https://${host}`].map((text) => text.toLowerCase());
  if (origin !== undefined && !origins.includes(origin.toLowerCase())) {
    throw new DashboardRequestError(
      403,
      `origin ${JSON.stringify(origin)} is not the dashboard's (http://${host}): actions are taken from the dashboard's own page only`,
    );
  }
  const site = single(request.headers['sec-fetch-site']);
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new DashboardRequestError(
      403,
      `a ${site} request cannot act: actions are taken from the dashboard's own page only`,
    );
  }
}
