import { expect } from 'chai';
import sinon from 'sinon';
import {
  ConnectionFailureLog,
  ConnectionUnavailableError,
  hostAndPort,
} from '../../lib/core/connection-failures.js';
import type { Logger } from '../../lib/index.js';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep =
    (level: string) =>
    (...args: unknown[]): void =>
      void lines.push(`${level} ${args.map(String).join(' ')}`);
  return {
    lines,
    trace: () => undefined,
    debug: () => undefined,
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
  };
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), {
  code: 'ECONNREFUSED',
});

describe('ConnectionFailureLog', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers({ now: 1_000_000 })));
  afterEach(() => clock.restore());

  it('a server never reached: callers wait what is left of connectTimeout since the first failure, then not at all', () => {
    const failures = new ConnectionFailureLog(recordingLogger(), 'Redis', '127.0.0.1:6390');
    expect(failures.remainingWait(2000)).to.equal(2000);
    failures.failed(refused, 100);
    clock.tick(1500);
    failures.failed(refused, 200);
    expect(failures.remainingWait(2000)).to.equal(500);
    clock.tick(700);
    expect(failures.remainingWait(2000)).to.equal(0);
    const error = failures.unavailable(failures.failingFor());
    expect(error).to.be.instanceOf(ConnectionUnavailableError);
    expect(error.message).to.equal(
      'Redis at 127.0.0.1:6390 not reachable within 2200 ms (ECONNREFUSED, 2 failed attempts); ' +
        'is the server running and the address right?',
    );
  });

  it('a server that was up: callers wait for the reconnect however long the outage lasts', () => {
    const failures = new ConnectionFailureLog(recordingLogger(), 'Redis', '127.0.0.1:6390');
    failures.connected();
    failures.failed(refused, 100);
    clock.tick(60_000);
    expect(failures.failingFor()).to.equal(60_000);
    expect(failures.remainingWait(2000)).to.equal(undefined);
  });

  it('logs the 1st, 2nd, 4th, 8th… failure at warn and one info line once connected', () => {
    const logger = recordingLogger();
    const failures = new ConnectionFailureLog(logger, 'NATS', '127.0.0.1:4223');
    for (let n = 0; n < 9; n++) failures.failed(refused, 50);
    failures.connected();
    expect(logger.lines).to.deep.equal([
      'warn NATS: cannot connect to 127.0.0.1:4223 (ECONNREFUSED); attempt 1, retrying in 50 ms',
      'warn NATS: cannot connect to 127.0.0.1:4223 (ECONNREFUSED); attempt 2, retrying in 50 ms',
      'warn NATS: cannot connect to 127.0.0.1:4223 (ECONNREFUSED); attempt 4, retrying in 50 ms',
      'warn NATS: cannot connect to 127.0.0.1:4223 (ECONNREFUSED); attempt 8, retrying in 50 ms',
      'info NATS: connected to 127.0.0.1:4223 after 9 failed attempts',
    ]);
    expect(failures.failingFor()).to.equal(0);
  });

  it('hostAndPort never echoes credentials', () => {
    expect(hostAndPort('redis://app:secret@cache:6380/2', 6379)).to.equal('cache:6380');
    expect(hostAndPort('amqp://guest:guest@127.0.0.1', 5672)).to.equal('127.0.0.1:5672');
    expect(hostAndPort('not a url with secret', 1)).to.equal('(unparsable address)');
  });
});
