import { expect } from 'chai';
import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { consume, consumerTask } from '../../lib/index.js';
import { MarbleConnector, marbleHandler, summarize } from '../../lib/testing/index.js';

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

describe('ergon-rx/testing', () => {
  it('plays one marble per fetch and names transactions by letter', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      const connector = new MarbleConnector(testScheduler, ['-(ab|)', '--c|']);
      const process = marbleHandler(testScheduler, { '*': '---(r|)' }, { r: 'done' });
      const task = consumerTask({ process });
      const policy = { loop: { concurrency: { value: 2 } } };
      // fetch 1 at 0 → a, b at 1; both done at 4; fetch 2 at 4 → c at 6, done at 9;
      // fetch 3 at 9 → empty → complete.
      expectObservable(consume(connector, task, policy).pipe(summarize())).toBe('----(xy)-(z|)', {
        x: 'a:success',
        y: 'b:success',
        z: 'c:success',
      });
      testScheduler.flush();
      expect(connector.requests).to.deep.equal([
        { frame: 0, size: 2 },
        { frame: 4, size: 2 },
        { frame: 9, size: 2 },
      ]);
      expect(connector.decisions()).to.deep.equal({ a: 'ack', b: 'ack', c: 'ack' });
      expect(process.calls.map((call) => [call.id, call.attempt, call.frame])).to.deep.equal([
        ['a', 1, 1],
        ['b', 1, 1],
        ['c', 1, 6],
      ]);
    });
  });

  it('scripts attempts per transaction: retries with backoff in virtual time', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      const connector = new MarbleConnector(testScheduler, ['(a|)']);
      const process = marbleHandler(testScheduler, { a: ['--#', '--#', '-(r|)'] });
      const task = consumerTask({ process });
      const policy = { process: { retry: { maxAttempts: 3, backoff: 10, backoffMultiplier: 2 } } };
      // attempt 1: 0–2, backoff 10 → attempt 2: 12–14, backoff 20 → attempt 3: 34–35.
      expectObservable(consume(connector, task, policy).pipe(summarize())).toBe('35ms (x|)', {
        x: 'a:success',
      });
      testScheduler.flush();
      expect(process.calls.map((call) => call.frame)).to.deep.equal([0, 12, 34]);
    });
  });

  it('releases in-flight work on a graceful stop after the grace period', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, hot }) => {
      const connector = new MarbleConnector(testScheduler, ['(ab|)']);
      const process = marbleHandler(testScheduler, { a: '--(r|)', b: '20ms (r|)' });
      const stop$ = hot('-s');
      const task = consumerTask({ process });
      const policy = { loop: { concurrency: { value: 2 }, shutdownGrace: 5 } };
      expectObservable(consume(connector, task, policy, { stop$ }).pipe(summarize())).toBe(
        '--x---(y|)',
        { x: 'a:success', y: 'b:released:shutdown' },
      );
      testScheduler.flush();
      expect(connector.decisions()).to.deep.equal({ a: 'ack', b: 'release' });
      expect(process.calls.map((call) => call.aborted())).to.deep.equal([false, true]);
    });
  });

  it('summarize works with any outcome stream', () => {
    const outcomes = new Subject<never>();
    const seen: string[] = [];
    outcomes.pipe(summarize()).subscribe((value) => seen.push(value));
    outcomes.complete();
    expect(seen).to.deep.equal([]);
  });
});
