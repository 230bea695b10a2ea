import { expect } from 'chai';
import { Subject } from 'rxjs';
import sinon from 'sinon';
import { ProgressReporter, reportProgress } from '../../lib/cli/progress-reporter.js';

/** A stream that records what was written. */
class FakeStream {
  readonly chunks: string[] = [];
  constructor(readonly isTTY: boolean) {}
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

const outcome = (status: string): { status: string; transaction: object } => ({
  status,
  transaction: {},
});

describe('ProgressReporter', () => {
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });

  afterEach(() => clock.restore());

  describe('on a TTY', () => {
    it('draws a live line at most every 200 ms, then a summary', () => {
      const stream = new FakeStream(true);
      let inFlight = 3;
      const reporter = new ProgressReporter({ stream, inFlight: () => inFlight });
      clock.tick(1000);
      reporter.record(outcome('success'));
      expect(stream.chunks).to.have.length(1);
      expect(stream.chunks[0]).to.equal('\r\x1b[2Kprocessed 1 (1/s) · in flight 3 · failures 0');

      reporter.record(outcome('failed'));
      reporter.record(outcome('timeout'));
      expect(stream.chunks).to.have.length(1);
      clock.tick(199);
      expect(stream.chunks).to.have.length(1);
      inFlight = 1;
      clock.tick(1);
      expect(stream.chunks).to.have.length(2);
      expect(stream.chunks[1]).to.include('processed 3').and.include('in flight 1 · failures 2');

      reporter.finish();
      const summary = stream.chunks[2] as string;
      expect(summary.startsWith('\r\x1b[2Kdone: processed 3')).to.equal(true);
      expect(summary).to.include('success 1 · exception 0 · failed 1 · timeout 1 · released 0\n');
    });

    it('omits "in flight" when unknown and ignores values that are not outcomes', () => {
      const stream = new FakeStream(true);
      const reporter = new ProgressReporter({ stream });
      reporter.record('not an outcome');
      reporter.record({ status: 'unheard-of' });
      expect(stream.chunks).to.deep.equal([]);
      reporter.record(outcome('exception'));
      expect(stream.text).to.equal('\r\x1b[2Kprocessed 1 (0/s) · failures 0');
    });

    it('does not redraw after the summary', () => {
      const stream = new FakeStream(true);
      const reporter = new ProgressReporter({ stream });
      reporter.record(outcome('success'));
      reporter.record(outcome('success'));
      reporter.finish();
      reporter.finish();
      clock.tick(1000);
      expect(stream.chunks).to.have.length(2);
    });
  });

  describe('when not a TTY', () => {
    it('writes one JSON summary line and nothing else', () => {
      const stream = new FakeStream(false);
      const reporter = new ProgressReporter({ stream });
      for (let index = 0; index < 10; index++) {
        reporter.record(outcome(index === 0 ? 'released' : 'success'));
        clock.tick(100);
      }
      expect(stream.chunks).to.deep.equal([]);
      reporter.finish();
      expect(stream.chunks).to.have.length(1);
      expect(JSON.parse(stream.chunks[0] as string)).to.deep.equal({
        type: 'summary',
        processed: 10,
        failures: 0,
        statuses: { success: 9, exception: 0, failed: 0, timeout: 0, released: 1 },
        elapsedMs: 1000,
        ratePerSecond: 10,
      });
    });

    it('follows the tty option over the stream', () => {
      const stream = new FakeStream(true);
      const reporter = new ProgressReporter({ stream, tty: false });
      reporter.record(outcome('success'));
      reporter.finish();
      expect(stream.chunks).to.have.length(1);
      expect(JSON.parse(stream.chunks[0] as string)).to.include({ type: 'summary', processed: 1 });
    });
  });
});

describe('reportProgress', () => {
  it('passes values through and writes the summary on completion', () => {
    const stream = new FakeStream(false);
    const outcomes = new Subject<{ status: string; transaction: object }>();
    const seen: string[] = [];
    outcomes.pipe(reportProgress({ stream })).subscribe((value) => seen.push(value.status));
    outcomes.next(outcome('success'));
    outcomes.next(outcome('failed'));
    expect(stream.chunks).to.deep.equal([]);
    outcomes.complete();
    expect(seen).to.deep.equal(['success', 'failed']);
    expect(JSON.parse(stream.chunks[0] as string)).to.include({ processed: 2, failures: 1 });
  });

  it('writes the summary when unsubscribed or on error', () => {
    const stream = new FakeStream(false);
    const outcomes = new Subject<{ status: string; transaction: object }>();
    const subscription = outcomes.pipe(reportProgress({ stream })).subscribe();
    outcomes.next(outcome('success'));
    subscription.unsubscribe();
    outcomes.pipe(reportProgress({ stream })).subscribe({ error: () => undefined });
    outcomes.error(new Error('boom'));
    expect(stream.chunks).to.have.length(2);
    expect(JSON.parse(stream.chunks[0] as string)).to.include({ processed: 1 });
    expect(JSON.parse(stream.chunks[1] as string)).to.include({ processed: 0 });
  });
});
