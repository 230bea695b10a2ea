import { expect } from 'chai';
import fc from 'fast-check';
import {
  PartitionOffsets,
  heldOffset,
  type HeldOffset,
} from '../../../lib/connectors/kafka/internal/partition-offsets.js';

/** Increasing offsets with gaps (compaction, transaction markers), from a start. */
const offsetsArbitrary = fc
  .tuple(
    fc.bigInt({ min: 0n, max: 1000n }),
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 40 }),
  )
  .map(([start, steps]) => {
    let offset = start;
    return steps.map((step) => (offset += BigInt(step)));
  });

describe('PartitionOffsets (the contiguous settled prefix of a partition)', () => {
  it('never offers to commit past a record that is not settled, and offers the whole settled prefix', () => {
    fc.assert(
      fc.property(
        offsetsArbitrary.chain((offsets) =>
          fc.tuple(fc.constant(offsets), fc.shuffledSubarray(offsets.map((_, index) => index))),
        ),
        ([offsets, settleOrder]) => {
          const partition = new PartitionOffsets();
          const held = offsets.map((offset) => partition.hold(heldOffset(offset)) as HeldOffset);
          const settled = new Set<number>();
          for (const index of settleOrder) {
            partition.settle(held[index] as HeldOffset);
            settled.add(index);
            const firstOpen = offsets.findIndex((_, i) => !settled.has(i));
            const commit = partition.commitOffset;
            if (firstOpen === 0) {
              expect(commit).to.equal(null);
            } else {
              const lastOfPrefix = offsets[
                (firstOpen === -1 ? offsets.length : firstOpen) - 1
              ] as bigint;
              expect(commit).to.equal(lastOfPrefix + 1n);
              if (firstOpen !== -1)
                expect((commit as bigint) <= (offsets[firstOpen] as bigint)).to.equal(true);
            }
          }
          expect(partition.unsettled).to.equal(offsets.length - settled.size);
        },
      ),
    );
  });

  it('refuses records below the next offset (a rewind after a rebalance) and settles each once', () => {
    fc.assert(
      fc.property(offsetsArbitrary, fc.nat(), (offsets, pick) => {
        fc.pre(offsets.length > 0);
        const partition = new PartitionOffsets();
        const held = offsets.map((offset) => partition.hold(heldOffset(offset)) as HeldOffset);
        const again = offsets[pick % offsets.length] as bigint;
        expect(partition.hold(heldOffset(again))).to.equal(undefined);
        const first = held[0] as HeldOffset;
        partition.settle(first);
        partition.settle(first);
        expect(partition.unsettled).to.equal(offsets.length - 1);
      }),
    );
  });

  it('counts in flight what was handed out and neither settled nor released (what a revoked partition drains)', () => {
    fc.assert(
      fc.property(
        offsetsArbitrary,
        fc.array(fc.tuple(fc.constantFrom('settle', 'release', 'redeliver'), fc.nat()), {
          maxLength: 80,
        }),
        (offsets, steps) => {
          const partition = new PartitionOffsets();
          const held = offsets.map((offset) => partition.hold(heldOffset(offset)) as HeldOffset);
          const state = held.map((): 'out' | 'released' | 'settled' => 'out');
          for (const [step, pick] of steps) {
            if (held.length === 0) break;
            const index = pick % held.length;
            const one = held[index] as HeldOffset;
            if (state[index] === 'settled') continue;
            if (step === 'settle') {
              partition.settle(one);
              state[index] = 'settled';
            } else if (step === 'release' && state[index] === 'out') {
              partition.released(one);
              state[index] = 'released';
            } else if (step === 'redeliver' && state[index] === 'released') {
              partition.redelivered(one);
              state[index] = 'out';
            }
            expect(partition.inFlight).to.equal(state.filter((s) => s === 'out').length);
            expect(partition.unsettled).to.equal(state.filter((s) => s !== 'settled').length);
          }
        },
      ),
    );
  });

  it('offers nothing new once its offset was committed', () => {
    const partition = new PartitionOffsets();
    const [a, b] = [partition.hold(heldOffset(7n)), partition.hold(heldOffset(9n))] as [
      HeldOffset,
      HeldOffset,
    ];
    partition.settle(a);
    expect(partition.commitOffset).to.equal(8n);
    partition.committed(8n);
    expect(partition.commitOffset).to.equal(null);
    partition.settle(b);
    expect(partition.commitOffset).to.equal(10n);
  });
});
