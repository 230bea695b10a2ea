import { expect } from 'chai';
import fc from 'fast-check';
import { FifoQueue } from '../../lib/core/fifo-queue.js';

type Command =
  | { readonly op: 'push'; readonly value: number }
  | { readonly op: 'shift' }
  | { readonly op: 'shiftMany'; readonly count: number }
  | { readonly op: 'pushMany'; readonly count: number }
  | { readonly op: 'drain' };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('push' as const), value: fc.integer() }),
  fc.constant({ op: 'shift' as const }),
  fc.record({ op: fc.constant('shiftMany' as const), count: fc.integer({ min: 0, max: 3000 }) }),
  fc.record({ op: fc.constant('pushMany' as const), count: fc.integer({ min: 0, max: 3000 }) }),
  fc.constant({ op: 'drain' as const }),
);

describe('FifoQueue', () => {
  it('is first-in first-out', () => {
    const queue = new FifoQueue<string>();
    queue.push('a');
    queue.push('b');
    expect(queue.shift()).to.equal('a');
    queue.push('c');
    expect(queue.length).to.equal(2);
    expect(queue.drain()).to.deep.equal(['b', 'c']);
    expect(queue.length).to.equal(0);
    expect(queue.shift()).to.equal(undefined);
  });

  it('find looks only at live items', () => {
    const queue = new FifoQueue<number>();
    for (const n of [1, 2, 3]) queue.push(n);
    queue.shift();
    expect(queue.find((n) => n === 1)).to.equal(undefined);
    expect(queue.find((n) => n > 1)).to.equal(2);
  });

  it('behaves like an array for any sequence of operations (compaction included)', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), (commands) => {
        const queue = new FifoQueue<number>();
        const model: number[] = [];
        let next = 0;
        for (const c of commands) {
          switch (c.op) {
            case 'push':
              queue.push(c.value);
              model.push(c.value);
              break;
            case 'shift':
              expect(queue.shift()).to.equal(model.shift());
              break;
            case 'shiftMany':
              for (let i = 0; i < c.count; i++) expect(queue.shift()).to.equal(model.shift());
              break;
            case 'pushMany':
              for (let i = 0; i < c.count; i++) {
                queue.push(next);
                model.push(next++);
              }
              break;
            case 'drain':
              expect(queue.drain()).to.deep.equal(model.splice(0));
              break;
          }
          expect(queue.length).to.equal(model.length);
        }
        expect(queue.drain()).to.deep.equal(model);
      }),
      { numRuns: 150 },
    );
  });
});
