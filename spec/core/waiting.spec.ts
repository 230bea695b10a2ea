import { expect } from 'chai';
import { abortable, noop, sleep, waitAtMost } from '../../lib/core/waiting.js';

describe('waiting', () => {
  describe('sleep', () => {
    it('resolves after the time', async () => {
      const started = Date.now();
      await sleep(20);
      expect(Date.now() - started).to.be.at.least(15);
    });

    it('rejects with the reason of the signal when it aborts, and at once when it already did', async () => {
      const controller = new AbortController();
      const reason = new Error('closed');
      const sleeping = sleep(10_000, { signal: controller.signal });
      controller.abort(reason);
      expect(await sleeping.catch((error: unknown) => error)).to.equal(reason);
      expect(
        await sleep(10_000, { signal: controller.signal }).catch((error: unknown) => error),
      ).to.equal(reason);
    });
  });

  describe('waitAtMost', () => {
    it('resolves true when the promise settles in time, failure included', async () => {
      expect(await waitAtMost(Promise.resolve(1), 1000)).to.equal(true);
      expect(await waitAtMost(Promise.reject(new Error('flush failed')), 1000)).to.equal(true);
    });

    it('resolves false when the time runs out first', async () => {
      expect(await waitAtMost(new Promise(noop), 10)).to.equal(false);
    });
  });

  describe('abortable', () => {
    it('settles as the promise does, or rejects with the reason once the signal aborts', async () => {
      const controller = new AbortController();
      expect(await abortable(Promise.resolve('ready'), controller.signal)).to.equal('ready');
      const waiting = abortable(new Promise(noop), controller.signal);
      controller.abort(new Error('gave up'));
      expect(String(await waiting.catch((error: unknown) => error))).to.equal('Error: gave up');
    });
  });
});
