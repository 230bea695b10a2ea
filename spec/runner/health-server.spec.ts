import { expect } from 'chai';
import { connect } from 'node:net';
import { once } from 'node:events';
import { startHealthServer, stopHealthServer } from '../../lib/runner/internal/health-server.js';

const probe = { alive: () => true, ready: () => false };

describe('startHealthServer / stopHealthServer', () => {
  it('listens on 127.0.0.1 by default, and on the host it is given', async () => {
    const local = await startHealthServer(0, probe);
    const every = await startHealthServer(0, probe, '0.0.0.0');
    try {
      expect(local.address()).to.include({ address: '127.0.0.1' });
      expect(every.address()).to.include({ address: '0.0.0.0' });
    } finally {
      await stopHealthServer(local);
      await stopHealthServer(every);
    }
  });

  it('stops at once though a client holds a half-sent request and another an idle keep-alive', async () => {
    const server = await startHealthServer(0, probe);
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const slow = connect(port, '127.0.0.1');
    await once(slow, 'connect');
    slow.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, {
      headers: { connection: 'keep-alive' },
    });
    expect(response.status).to.equal(503);
    await response.text();
    const closed = once(slow, 'close');
    const startedAt = performance.now();
    await stopHealthServer(server);
    await closed;
    expect(performance.now() - startedAt).to.be.below(500);
  });
});
