import { expect } from 'chai';
import { AckBatcher } from '../../../lib/connectors/redis/internal/ack-batcher.js';

describe('AckBatcher', () => {
  it('sends the acks of one event-loop turn as one batch', async () => {
    const batches: string[][] = [];
    const acks = new AckBatcher(async (ids) => {
      batches.push([...ids]);
    });
    await Promise.all(['1-0', '2-0', '3-0'].map((id) => acks.ack(id)));
    await acks.ack('4-0');
    expect(batches).to.deep.equal([['1-0', '2-0', '3-0'], ['4-0']]);
  });

  it('rejects every ack of a failed batch with its error, and lists what is queued', async () => {
    const failure = new Error('connection closed');
    const acks = new AckBatcher(() => Promise.reject(failure));
    const pending = [acks.ack('1-0'), acks.ack('2-0')];
    expect(acks.queued).to.deep.equal(['1-0', '2-0']);
    const results = await Promise.allSettled(pending);
    expect(results.map((result) => result.status)).to.deep.equal(['rejected', 'rejected']);
    expect(acks.queued).to.deep.equal([]);
  });

  it('flush sends at once', async () => {
    const batches: string[][] = [];
    const acks = new AckBatcher(async (ids) => {
      batches.push([...ids]);
    });
    const acked = acks.ack('1-0');
    await acks.flush();
    expect(batches).to.deep.equal([['1-0']]);
    await acked;
    await acks.flush();
    expect(batches).to.have.length(1);
  });

  it('flushSoon sends at the end of the microtask burst, with the acks queued until then', async () => {
    const batches: string[][] = [];
    const acks = new AckBatcher(async (ids) => {
      batches.push([...ids]);
    });
    const first = acks.ack('1-0');
    acks.flushSoon();
    acks.flushSoon();
    const second = acks.ack('2-0');
    expect(batches).to.deep.equal([]);
    await Promise.resolve();
    expect(batches).to.deep.equal([['1-0', '2-0']]);
    await Promise.all([first, second]);
    acks.flushSoon();
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches, 'nothing queued: nothing sent').to.have.length(1);
  });
});
