import { expect } from 'chai';
import fc from 'fast-check';
import {
  cooperativeAssigner,
  cooperativeAssignment,
  decodeClaims,
  encodeClaims,
  type CooperativeAssignment,
  type MemberClaims,
} from '../../../lib/connectors/kafka/internal/cooperative-assignor.js';

const topic = 'orders';

/** A group: member ids, a partition count, and what each member claims (maybe overlapping). */
const groupArbitrary = fc
  .record({
    ids: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
    count: fc.integer({ min: 1, max: 24 }),
  })
  .chain(({ ids, count }) =>
    fc.record({
      count: fc.constant(count),
      members: fc.tuple(
        ...ids.map((memberId) =>
          fc.record({
            memberId: fc.constant(memberId),
            topics: fc.constant([topic]),
            generation: fc.integer({ min: -1, max: 5 }),
            owned: fc
              .uniqueArray(fc.integer({ min: 0, max: count + 2 }), { maxLength: count })
              .map((partitions) => new Map([[topic, partitions]])),
          }),
        ),
      ),
    }),
  );

const partitionsOf = (assignment: CooperativeAssignment, memberId: string): number[] =>
  assignment.get(memberId)?.get(topic) ?? [];

/** The member whose claim on `partition` holds: the highest generation (first id on a tie). */
function holderOf(members: readonly MemberClaims[], partition: number): string | undefined {
  let best: MemberClaims | undefined;
  for (const member of [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))) {
    if (!(member.owned.get(topic) ?? []).includes(partition)) continue;
    if (best === undefined || member.generation > best.generation) best = member;
  }
  return best?.memberId;
}

describe('cooperativeAssignment (the Kafka connector group assignor)', () => {
  it('never gives a partition to two members, nor to anyone but the member that still holds it', () => {
    fc.assert(
      fc.property(groupArbitrary, ({ count, members }) => {
        const assignment = cooperativeAssignment(members, new Map([[topic, count]]));
        const owner = new Map<number, string>();
        for (const member of members) {
          for (const partition of partitionsOf(assignment, member.memberId)) {
            expect(partition).to.be.within(0, count - 1);
            expect(owner.has(partition), `partition ${partition} given twice`).to.equal(false);
            owner.set(partition, member.memberId);
            const holder = holderOf(members, partition);
            if (holder !== undefined) expect(holder).to.equal(member.memberId);
          }
        }
        // Shares stay even: no member gets more than ⌈count / members⌉.
        const most = Math.ceil(count / members.length);
        for (const member of members) {
          expect(partitionsOf(assignment, member.memberId).length).to.be.at.most(most);
        }
      }),
    );
  });

  it('reaches a complete, even assignment once holders let go of what was revoked from them', () => {
    fc.assert(
      fc.property(groupArbitrary, ({ count, members }) => {
        let group: MemberClaims[] = members;
        let assignment = cooperativeAssignment(group, new Map([[topic, count]]));
        // Each member drains what it no longer has and rejoins claiming only its assignment.
        for (let generation = 10; generation < 12; generation++) {
          group = group.map((member) => ({
            ...member,
            generation,
            owned: new Map([[topic, partitionsOf(assignment, member.memberId)]]),
          }));
          assignment = cooperativeAssignment(group, new Map([[topic, count]]));
        }
        const sizes = group.map((member) => partitionsOf(assignment, member.memberId).length);
        expect(sizes.reduce((a, b) => a + b, 0)).to.equal(count);
        expect(Math.max(...sizes) - Math.min(...sizes)).to.be.at.most(1);
      }),
    );
  });

  it('keeps what a member holds when the group does not change (sticky)', () => {
    fc.assert(
      fc.property(groupArbitrary, ({ count, members }) => {
        const counts = new Map([[topic, count]]);
        const first = cooperativeAssignment(members, counts);
        const settled = members.map((member) => ({
          ...member,
          generation: 7,
          owned: new Map([[topic, partitionsOf(first, member.memberId)]]),
        }));
        const second = cooperativeAssignment(settled, counts);
        for (const member of settled) {
          for (const partition of partitionsOf(first, member.memberId)) {
            expect(partitionsOf(second, member.memberId)).to.include(partition);
          }
        }
      }),
    );
  });

  it('reads its claims back from the bytes a member sends, and treats anything else as no claim', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1, max: 1000 }),
        fc.uniqueArray(fc.nat(100)),
        (generation, partitions) => {
          const claims = decodeClaims(
            'm',
            [topic],
            encodeClaims(generation, new Map([[topic, partitions]])),
          );
          expect(claims.generation).to.equal(generation);
          expect(claims.owned.get(topic)).to.deep.equal(partitions);
        },
      ),
    );
    for (const junk of [
      undefined,
      Buffer.alloc(0),
      Buffer.from('not json'),
      Buffer.from('[1]'),
      '{}',
    ]) {
      expect(decodeClaims('m', [topic], junk).owned.size).to.equal(0);
    }
  });

  it('is the driver hook: one entry per member, a moved partition left out until its holder lets go', () => {
    const members = new Map([
      [
        'a',
        {
          memberId: 'a',
          version: 1,
          topics: [topic],
          metadata: encodeClaims(3, new Map([[topic, [0, 1, 2, 3]]])),
        },
      ],
      ['b', { memberId: 'b', version: 1, topics: [topic], metadata: Buffer.alloc(0) }],
    ]);
    const metadata = {
      id: 'cluster',
      brokers: new Map(),
      controllerId: 1,
      lastUpdate: 0,
      topics: new Map([[topic, { partitionsCount: 4 }]]),
    } as unknown as Parameters<typeof cooperativeAssigner>[3];
    const result = cooperativeAssigner('a', members, new Set([topic]), metadata);
    const byMember = new Map(
      result.map((r) => [r.memberId, r.assignments.get(topic)?.partitions ?? []]),
    );
    expect(byMember.get('a')).to.deep.equal([0, 1]);
    expect(byMember.get('b')).to.deep.equal([]);
  });
});
