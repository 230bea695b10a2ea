import { expect } from 'chai';
import fc from 'fast-check';
import type { IncomingHttpHeaders } from 'node:http';
import { guardAction, type ActionPolicy } from '../../lib/dashboard/action-guard.js';
import { DashboardRequestError } from '../../lib/dashboard/dashboard-errors.js';

/** The status the guard refuses with, `undefined` when it accepts. */
function refusal(
  method: string,
  headers: IncomingHttpHeaders,
  policy: ActionPolicy,
): number | undefined {
  try {
    guardAction({ method, headers }, policy);
    return undefined;
  } catch (error) {
    expect(error).to.be.instanceOf(DashboardRequestError);
    return (error as DashboardRequestError).status;
  }
}

const port = fc.integer({ min: 1, max: 65_535 });
const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const domain = fc
  .array(label, { minLength: 2, maxLength: 3 })
  .map((labels) => labels.join('.'))
  .filter((name) => name !== 'localhost');
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6().map((address) => `[${address}]`);
const jsonType = fc.constantFrom(
  'application/json',
  'Application/JSON',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
);
const sameSite = fc.constantFrom(undefined, 'same-origin', 'none');
const policy = fc.record({
  enabled: fc.constant(true),
  allowedHosts: fc.array(domain, { maxLength: 3 }),
});

/** A host header the policy allows: localhost, an IP address, or one of its names (any case). */
const allowedHost = policy.chain((chosen) =>
  fc.record({
    policy: fc.constant(chosen),
    host: fc
      .tuple(
        fc.oneof(
          fc.constant('localhost'),
          ipv4,
          ipv6,
          ...(chosen.allowedHosts.length === 0
            ? []
            : [fc.constantFrom(...chosen.allowedHosts).map((name) => name.toUpperCase())]),
        ),
        fc.option(port, { nil: undefined }),
      )
      .map(([name, at]) => (at === undefined ? name : `${name}:${at}`)),
  }),
);

describe('guardAction (property)', () => {
  it("accepts the dashboard page's own requests: POST, JSON, an allowed host, its own origin or none", () => {
    fc.assert(
      fc.property(
        allowedHost,
        jsonType,
        fc.constantFrom(undefined, 'http', 'https'),
        sameSite,
        ({ policy: chosen, host }, type, scheme, site) => {
          const headers: IncomingHttpHeaders = {
            host,
            'content-type': type,
            ...(scheme === undefined ? {} : { origin: `${scheme}://${host}` }),
            ...(site === undefined ? {} : { 'sec-fetch-site': site }),
          };
          expect(refusal('POST', headers, chosen)).to.equal(undefined);
        },
      ),
    );
  });

  it('refuses any method but POST (405), whatever the headers', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'post'),
        allowedHost,
        (method, { policy: chosen, host }) => {
          expect(refusal(method, { host, 'content-type': 'application/json' }, chosen)).to.equal(
            405,
          );
        },
      ),
    );
  });

  it('refuses a request from another origin (403), another scheme, host or port included', () => {
    fc.assert(
      fc.property(
        allowedHost,
        fc.oneof(
          domain.map((name) => `http://${name}`),
          fc
            .tuple(fc.constantFrom('http', 'https', 'file'), fc.oneof(domain, ipv4), port)
            .map(([scheme, name, at]) => `${scheme}://${name}:${at}`),
          fc.constant('null'),
        ),
        ({ policy: chosen, host }, origin) => {
          fc.pre(![`http://${host}`, `https://${host}`].includes(origin.toLowerCase()));
          const headers = { host, origin, 'content-type': 'application/json' };
          expect(refusal('POST', headers, chosen)).to.equal(403);
        },
      ),
    );
  });

  it('refuses a host name it was not told about (403), even with a matching Origin (DNS rebinding)', () => {
    fc.assert(
      fc.property(policy, domain, fc.option(port, { nil: undefined }), (chosen, name, at) => {
        fc.pre(!chosen.allowedHosts.includes(name));
        const host = at === undefined ? name : `${name}:${at}`;
        const headers = { host, origin: `http://${host}`, 'content-type': 'application/json' };
        expect(refusal('POST', headers, chosen)).to.equal(403);
      }),
    );
  });

  it('refuses a body not declared JSON (415) and a cross-site fetch (403)', () => {
    fc.assert(
      fc.property(
        allowedHost,
        fc.constantFrom(
          undefined,
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/jsonp',
        ),
        ({ policy: chosen, host }, type) => {
          const headers = type === undefined ? { host } : { host, 'content-type': type };
          expect(refusal('POST', headers, chosen)).to.equal(415);
          const crossSite = {
            host,
            'content-type': 'application/json',
            'sec-fetch-site': 'cross-site',
          };
          expect(refusal('POST', crossSite, chosen)).to.equal(403);
        },
      ),
    );
  });

  it('refuses everything (403) when actions are disabled', () => {
    fc.assert(
      fc.property(allowedHost, jsonType, ({ policy: chosen, host }, type) => {
        const headers = { host, origin: `http://${host}`, 'content-type': type };
        expect(refusal('POST', headers, { ...chosen, enabled: false })).to.equal(403);
      }),
    );
  });
});
