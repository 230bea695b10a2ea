import type {
  GroupPartitionsAssigner,
  GroupPartitionsAssignments,
  GroupProtocolSubscription,
} from '@platformatic/kafka';

/**
 * The name under which members of a group announce the cooperative protocol: every member
 * of a group must speak it (the coordinator refuses a member that does not with
 * INCONSISTENT_GROUP_PROTOCOL, rather than mixing assignors).
 */
const cooperativeProtocolName = 'ergon-cooperative';

/**
 * What one member tells the group when it joins: the partitions it still holds (assigned, or
 * revoked and still draining) and the generation in which it got its current assignment.
 */
export interface MemberClaims {
  readonly memberId: string;
  /** The topics the member subscribes to. */
  readonly topics: readonly string[];
  /** The generation of the member's last assignment; a higher one wins a disputed claim. */
  readonly generation: number;
  /** Per topic, the partitions the member holds. */
  readonly owned: ReadonlyMap<string, readonly number[]>;
}

/** Per member, per topic, the partitions assigned in this generation. */
export type CooperativeAssignment = Map<string, Map<string, number[]>>;

/**
 * A sticky, cooperative assignment in the manner of Kafka's own cooperative-sticky assignor
 * (KIP-429), for the classic group protocol: each topic's partitions are spread evenly (counts
 * differ by one at most), a member keeps the partitions it holds up to its share, and **a
 * partition another member still holds is assigned to nobody** in this generation. Its holder
 * sees it revoked, finishes (or gives up) its work on it, commits and joins again without it;
 * the next generation gives it to its new owner, which then starts from the holder's last
 * commit. So a partition never has two owners at once, and the records its holder settled
 * while draining are not delivered again.
 *
 * A partition claimed by more than one member (a member that lost its membership and came
 * back with what it held then) belongs to the claim of the highest generation.
 *
 * @param members every member of the group, with its claims.
 * @param partitionCounts the partition count of every topic to assign.
 */
export function cooperativeAssignment(
  members: readonly MemberClaims[],
  partitionCounts: ReadonlyMap<string, number>,
): CooperativeAssignment {
  const result: CooperativeAssignment = new Map(
    members.map((m) => [m.memberId, new Map<string, number[]>()]),
  );
  for (const [topic, count] of partitionCounts) {
    const subscribers = members
      .filter((member) => member.topics.includes(topic))
      .sort((a, b) => compareText(a.memberId, b.memberId));
    if (subscribers.length === 0) continue;
    const holder = new Map<number, MemberClaims>();
    for (const member of subscribers) {
      for (const partition of member.owned.get(topic) ?? []) {
        if (!Number.isInteger(partition) || partition < 0 || partition >= count) continue;
        const other = holder.get(partition);
        if (other === undefined || member.generation > other.generation) {
          holder.set(partition, member);
        }
      }
    }
    const held = new Map<string, number[]>(subscribers.map((m) => [m.memberId, []]));
    for (let partition = 0; partition < count; partition++) {
      const member = holder.get(partition);
      if (member !== undefined) held.get(member.memberId)?.push(partition);
    }
    // The members holding most get the larger shares, so that as little as possible moves.
    const ordered = [...subscribers].sort(
      (a, b) =>
        (held.get(b.memberId)?.length ?? 0) - (held.get(a.memberId)?.length ?? 0) ||
        compareText(a.memberId, b.memberId),
    );
    const base = Math.floor(count / ordered.length);
    const extra = count % ordered.length;
    const assigned = new Map<string, number[]>();
    const room = new Map<string, number>();
    ordered.forEach((member, index) => {
      const share = base + (index < extra ? 1 : 0);
      const kept = (held.get(member.memberId) ?? []).slice(0, share);
      assigned.set(member.memberId, kept);
      room.set(member.memberId, share - kept.length);
    });
    // Free partitions (held by nobody) fill the members below their share; a partition held
    // beyond its holder's share is assigned to nobody until the holder has let it go.
    let next = 0;
    for (let partition = 0; partition < count; partition++) {
      if (holder.has(partition)) continue;
      while (next < ordered.length && (room.get(ordered[next]?.memberId ?? '') ?? 0) === 0) next++;
      const member = ordered[next];
      if (member === undefined) break;
      assigned.get(member.memberId)?.push(partition);
      room.set(member.memberId, (room.get(member.memberId) ?? 0) - 1);
    }
    for (const [memberId, partitions] of assigned) {
      if (partitions.length > 0) {
        result.get(memberId)?.set(
          topic,
          partitions.sort((a, b) => a - b),
        );
      }
    }
  }
  return result;
}

/** The claims a member sends with its join (the protocol's user data), as bytes. */
export function encodeClaims(
  generation: number,
  owned: ReadonlyMap<string, readonly number[]>,
): Buffer {
  return Buffer.from(JSON.stringify({ generation, owned: Object.fromEntries(owned) }));
}

/**
 * The claims in a member's user data; a member that sent none (or something else) claims
 * nothing.
 */
export function decodeClaims(
  memberId: string,
  topics: readonly string[],
  data: Buffer | string | undefined | null,
): MemberClaims {
  const none: MemberClaims = { memberId, topics, generation: -1, owned: new Map() };
  if (data === undefined || data === null || data.length === 0) return none;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString());
  } catch {
    return none;
  }
  if (typeof parsed !== 'object' || parsed === null) return none;
  const { generation, owned } = parsed as { generation?: unknown; owned?: unknown };
  if (typeof generation !== 'number' || typeof owned !== 'object' || owned === null) return none;
  const claims = new Map<string, number[]>();
  for (const [topic, partitions] of Object.entries(owned)) {
    if (Array.isArray(partitions)) {
      claims.set(
        topic,
        partitions.filter((p): p is number => typeof p === 'number'),
      );
    }
  }
  return { memberId, topics, generation, owned: claims };
}

/**
 * The driver's hook for {@link cooperativeAssignment}: run by the group's leader with every
 * member's subscription (their claims in its user data).
 */
export const cooperativeAssigner: GroupPartitionsAssigner = (
  _leader,
  members,
  topics,
  metadata,
) => {
  const claims = [...members.values()].map((member) =>
    decodeClaims(member.memberId, member.topics ?? [], member.metadata),
  );
  const counts = new Map<string, number>();
  for (const topic of topics) {
    const partitions = metadata.topics.get(topic)?.partitionsCount;
    if (partitions !== undefined) counts.set(topic, partitions);
  }
  const assignment = cooperativeAssignment(claims, counts);
  return [...members.keys()].map((memberId): GroupPartitionsAssignments => ({
    memberId,
    assignments: new Map(
      [...(assignment.get(memberId) ?? new Map<string, number[]>())].map(([topic, partitions]) => [
        topic,
        { topic, partitions },
      ]),
    ),
  }));
};

/**
 * The protocol a member announces: its claims are read each time it joins (the driver reads
 * `metadata` when it sends JoinGroup), so a rejoin the driver starts by itself carries the
 * current claims too.
 */
export function cooperativeProtocol(claims: () => Buffer): GroupProtocolSubscription {
  return {
    name: cooperativeProtocolName,
    version: 1,
    get metadata(): Buffer {
      return claims();
    },
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
