import { expect } from 'chai';
import { lastValueFrom, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  createTransaction,
  redriveOfKey,
  type Connector,
  type DeadLetters,
  type Transaction,
} from '../../../lib/index.js';

/** The connectors of one dead-letter contract run: two views of the same source. */
export interface DeadLetterFixture {
  /** Consumes, dispatches and redrives. */
  readonly first: Connector & { deadLetters(): DeadLetters };
  /** A second connector (another "process") on the same source and dead letters. */
  readonly second: Connector & { deadLetters(): DeadLetters };
}

const traceparentOf = (n: number): string =>
  `00-${n.toString(16).padStart(32, 'a')}-00f067aa0ba902b7-01`;

/** Runs `connector` until `count` transactions have an outcome, with `process`. */
async function consumeCount(
  connector: Connector,
  count: number,
  process: (tx: Transaction) => unknown,
): Promise<Transaction[]> {
  const outcomes = await lastValueFrom(
    consume(connector, consumerTask({ process }), {
      loop: { concurrency: { value: 4 }, limit: count, mode: 'continuous', streaming: true },
      fetch: { empty: { backoff: 20 } },
    }).pipe(toArray()),
  );
  return outcomes.map((outcome) => outcome.transaction);
}

/**
 * The dead-letter contract every connector with `deadLetters()` keeps, against its real
 * server: list fields and query options, show, a redrive round trip keeping the id and the
 * trace context with a fresh delivery count, two concurrent redrives sending each dead letter
 * once, purge. `fixture()` gives connectors on a fresh source each time; `dispatch` puts
 * transactions into the source (the connector's own `dispatch` when absent).
 */
export function deadLetterContract(
  fixture: () => Promise<DeadLetterFixture>,
  options: {
    /** The delivery count a fetched transaction carries (connectors that tell). */
    readonly deliveryCountOf?: (tx: Transaction) => number | undefined;
    /** Where a redriven transaction carries `ergon-redrive-of` (default: its metadata). */
    readonly redriveOf?: (tx: Transaction) => unknown;
  } = {},
): void {
  async function deadLettered(
    count: number,
  ): Promise<{ fixture: DeadLetterFixture; sent: Transaction[] }> {
    const made = await fixture();
    const sent = Array.from({ length: count }, (_, n) =>
      createTransaction(
        { n, text: n % 2 === 0 ? 'even' : 'odd' },
        {
          id: `dl-${n}`,
          metadata: { traceparent: traceparentOf(n + 1) },
        },
      ),
    );
    await made.first.dispatch?.(sent);
    await consumeCount(made.first, count, (tx) => {
      throw new Error(`refused ${tx.id}`);
    });
    return { fixture: made, sent };
  }

  it('lists id, error, stage, time, delivery count and trace context; filter, since, limit', async () => {
    const before = new Date(Date.now() - 1000);
    const { fixture: made } = await deadLettered(4);
    const dead = made.first.deadLetters();
    const all = await dead.list();
    expect(all.map((letter) => letter.id).sort()).to.deep.equal(['dl-0', 'dl-1', 'dl-2', 'dl-3']);
    for (const letter of all) {
      expect(letter.error).to.contain(`refused ${letter.id}`);
      expect(letter.stage).to.equal('process');
      expect(letter.reason).to.equal('failed');
      expect(letter.deadLetteredAt.getTime()).to.be.at.least(before.getTime());
      expect(letter.deliveryCount).to.equal(1);
      expect(letter.traceparent).to.equal(traceparentOf(Number(letter.id.slice(3)) + 1));
      expect(letter.payload).to.deep.include({ n: Number(letter.id.slice(3)) });
      expect(letter.location).to.be.a('string').and.not.equal('');
    }
    expect((await dead.list({ limit: 2 })).length).to.equal(2);
    expect((await dead.list({ filter: 'REFUSED DL-2' })).map((l) => l.id)).to.deep.equal(['dl-2']);
    expect((await dead.list({ filter: 'odd' })).map((l) => l.id).sort()).to.deep.equal([
      'dl-1',
      'dl-3',
    ]);
    expect(await dead.list({ since: new Date(Date.now() + 60_000) })).to.deep.equal([]);
    expect((await dead.list({ ids: ['dl-3'] })).map((l) => l.id)).to.deep.equal(['dl-3']);
    expect((await dead.show('dl-1'))?.error).to.contain('refused dl-1');
    expect(await dead.show('nope')).to.equal(undefined);
    // Listing changes nothing.
    expect((await made.second.deadLetters().list()).length).to.equal(4);
  });

  it('redrives with the id, the original trace context and a fresh delivery count', async () => {
    const { fixture: made } = await deadLettered(2);
    const report = await made.first.deadLetters().redrive({ ids: ['dl-1'] });
    expect(report).to.deep.equal({ redriven: ['dl-1'], skipped: [] });
    const [again] = await consumeCount(made.first, 1, () => 'ok');
    expect(again?.id).to.equal('dl-1');
    expect(again?.payload).to.deep.include({ n: 1 });
    expect(again?.metadata['traceparent']).to.equal(traceparentOf(2));
    const redriveOf = options.redriveOf ?? ((tx: Transaction) => tx.metadata[redriveOfKey]);
    expect(again === undefined ? undefined : redriveOf(again)).to.be.a('string');
    if (options.deliveryCountOf !== undefined && again !== undefined) {
      expect(options.deliveryCountOf(again)).to.equal(1);
    }
    expect((await made.first.deadLetters().list()).map((l) => l.id)).to.deep.equal(['dl-0']);
  });

  it('two concurrent redrives send each dead letter once', async () => {
    const count = 12;
    const { fixture: made } = await deadLettered(count);
    const [a, b] = await Promise.all([
      made.first.deadLetters().redrive(),
      made.second.deadLetters().redrive(),
    ]);
    const redriven = [...a.redriven, ...b.redriven].sort();
    const expected = Array.from({ length: count }, (_, n) => `dl-${n}`).sort();
    expect(redriven).to.deep.equal(expected);
    const fetched = await consumeCount(made.first, count, () => 'ok');
    expect(fetched.map((tx) => tx.id).sort()).to.deep.equal(expected);
    expect(await made.first.deadLetters().list()).to.deep.equal([]);
    // Nothing more arrives: each was sent once.
    expect(
      await lastValueFrom(made.first.fetch({ size: 10, extra: {} }).pipe(toArray())),
    ).to.deep.equal([]);
  });

  it('purges what it selects and nothing else', async () => {
    const { fixture: made } = await deadLettered(3);
    const dead = made.first.deadLetters();
    expect([...(await dead.purge({ ids: ['dl-0', 'dl-2'] })).purged].sort()).to.deep.equal([
      'dl-0',
      'dl-2',
    ]);
    expect((await dead.list()).map((l) => l.id)).to.deep.equal(['dl-1']);
    expect((await dead.purge()).purged).to.deep.equal(['dl-1']);
    expect(await dead.list()).to.deep.equal([]);
  });
}
