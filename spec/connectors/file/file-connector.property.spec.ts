import { expect } from 'chai';
import fc from 'fast-check';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from 'rxjs';
import {
  decodeFailureOf,
  FileConnector,
  SettlementError,
  TransactionError,
  type SettleDecision,
  type Transaction,
} from '../../../lib/index.js';

/** What a line of the generated file is. */
type Line =
  | { readonly kind: 'record'; readonly s: string }
  | { readonly kind: 'junk'; readonly text: string };

type Cancel = 'never' | 'at-once' | { readonly after: number };
type Decision = 'ack' | 'release' | 'deadLetter';

type Op =
  | { readonly kind: 'append' }
  | { readonly kind: 'restart'; readonly streaming: boolean; readonly deadLettersFail: boolean }
  | {
      readonly kind: 'fetch';
      readonly size: number;
      readonly cancel: Cancel;
      readonly decisions: readonly Decision[];
    };

interface Scenario {
  readonly lines: readonly Line[];
  /** Cut points of the file's bytes: it is appended chunk by chunk. */
  readonly cuts: readonly number[];
  readonly ops: readonly Op[];
}

const line: fc.Arbitrary<Line> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .string({ unit: 'binary', maxLength: 12 })
      .map((s) => ({ kind: 'record' as const, s })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('{oops', '[1,', 'ünïcödé')
      .map((text) => ({ kind: 'junk' as const, text })),
  },
);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'append' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('restart' as const),
      streaming: fc.boolean(),
      deadLettersFail: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('fetch' as const),
      size: fc.integer({ min: 1, max: 5 }),
      cancel: fc.oneof(
        fc.constant<Cancel>('never'),
        fc.constant<Cancel>('at-once'),
        fc.integer({ min: 1, max: 4 }).map<Cancel>((after) => ({ after })),
      ),
      decisions: fc.array(fc.constantFrom<Decision>('ack', 'ack', 'release', 'deadLetter'), {
        minLength: 5,
        maxLength: 5,
      }),
    }),
  },
);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  lines: fc.array(line, { minLength: 1, maxLength: 12 }),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
  ops: fc.array(op, { maxLength: 14 }),
});

function render(each: Line, index: number): string {
  return each.kind === 'record' ? JSON.stringify({ n: index + 1, s: each.s }) : each.text;
}

/** One fetch that may be unsubscribed: at once, after some lines, or never. */
function fetchSome(connector: FileConnector, size: number, cancel: Cancel): Promise<Transaction[]> {
  return new Promise((resolve, reject) => {
    const got: Transaction[] = [];
    let subscription: Subscription | undefined = undefined;
    let stopped = false;
    subscription = connector.fetch({ size, extra: {} }).subscribe({
      next: (transaction) => {
        got.push(transaction);
        if (typeof cancel === 'object' && got.length === cancel.after) {
          stopped = true;
          subscription?.unsubscribe();
          resolve(got);
        }
      },
      error: reject,
      complete: () => resolve(got),
    });
    if (stopped) subscription.unsubscribe();
    if (cancel === 'at-once') {
      subscription.unsubscribe();
      resolve(got);
    }
  });
}

async function runScenario({ lines, cuts, ops }: Scenario): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ergon-file-property-'));
  const path = join(dir, 'in.jsonl');
  const cursorPath = `${path}.cursor`;
  const bytes = Buffer.from(lines.map((each, i) => `${render(each, i)}\n`).join(''));
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks = [...points, bytes.length].map((end, i, all) =>
    bytes.subarray(i === 0 ? 0 : all[i - 1], end),
  );
  writeFileSync(path, '');
  /** Final settlements (ack or dead letter) per line number, over every run. */
  const final = new Map<number, number>();
  const connectors: FileConnector[] = [];
  // A folder where dead letters should go: appending to it fails.
  const brokenDeadLetters = join(dir, 'dead-letters-here-fail');
  mkdirSync(brokenDeadLetters);
  const open = (streaming: boolean, deadLettersFail: boolean): FileConnector => {
    const opened = new FileConnector({
      path,
      streaming,
      ...(deadLettersFail ? { deadLetterPath: brokenDeadLetters } : {}),
    });
    connectors.push(opened);
    return opened;
  };
  let connector = open(false, false);
  let restarts = 0;
  /** Whether a dead letter failed in this run (its line is read again after a restart). */
  let stuck = false;
  /** Lines handed out by the current connector and not settled. */
  let out = new Map<number, Transaction>();
  let finalInRun = new Set<number>();

  const settle = async (transaction: Transaction, decision: Decision): Promise<void> => {
    const number = transaction.metadata['line'] as number;
    const incomplete = transaction.id.endsWith(':incomplete');
    if (!incomplete) out.delete(number);
    const settlement: SettleDecision =
      decision === 'release'
        ? { type: 'release', reason: 'shutdown' }
        : decision === 'ack'
          ? { type: 'ack' }
          : { type: 'deadLetter', error: new TransactionError('dead') };
    try {
      await connector.settle(transaction, settlement);
    } catch (error) {
      expect(error, 'a failed dead letter').to.be.instanceOf(SettlementError);
      expect(decision).to.equal('deadLetter');
      stuck = true;
      return;
    }
    if (decision === 'release' || incomplete) return;
    expect(finalInRun.has(number), `line ${number} settled twice in one run`).to.equal(false);
    finalInRun.add(number);
    final.set(number, (final.get(number) ?? 0) + 1);
  };

  const check = (transaction: Transaction): void => {
    const number = transaction.metadata['line'] as number;
    if (transaction.id.endsWith(':incomplete')) return;
    expect(out.has(number), `line ${number} handed out twice`).to.equal(false);
    out.set(number, transaction);
    const expected = lines[number - 1];
    if (expected?.kind === 'record') {
      expect(transaction.payload).to.deep.equal({ n: number, s: expected.s });
      expect(decodeFailureOf(transaction)).to.equal(undefined);
    } else {
      expect(decodeFailureOf(transaction), `line ${number}`).to.be.instanceOf(Error);
    }
  };

  const restart = async (streaming: boolean, deadLettersFail: boolean): Promise<void> => {
    await connector.close();
    connector = open(streaming, deadLettersFail);
    restarts++;
    out = new Map();
    finalInRun = new Set();
    stuck = false;
  };

  /** The cursor never passes a line without a final settlement. */
  const checkCursor = (): void => {
    if (!existsSync(cursorPath)) return;
    const { line: cursorLine } = JSON.parse(readFileSync(cursorPath, 'utf8')) as { line: number };
    for (let n = 1; n <= cursorLine; n++) {
      expect(final.has(n), `the cursor is at line ${cursorLine}, line ${n} is unsettled`).to.equal(
        true,
      );
    }
  };

  try {
    let appended = 0;
    for (const step of ops) {
      if (step.kind === 'append') {
        if (appended < chunks.length) appendFileSync(path, chunks[appended++] as Buffer);
      } else if (step.kind === 'restart') {
        await restart(step.streaming, step.deadLettersFail);
      } else {
        const got = await fetchSome(connector, step.size, step.cancel);
        expect(got.length).to.be.at.most(step.size);
        got.forEach(check);
        for (const [i, transaction] of got.entries()) {
          await settle(transaction, step.decisions[i] ?? 'ack');
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
      checkCursor();
    }
    // The rest of the file, then a drain that acks everything; lines left out are released.
    while (appended < chunks.length) appendFileSync(path, chunks[appended++] as Buffer);
    for (const transaction of out.values()) await settle(transaction, 'release');
    if (stuck) await restart(true, false);
    for (let round = 0; round < 100; round++) {
      const got = await fetchSome(connector, 4, 'never');
      if (got.length === 0) break;
      got.forEach(check);
      for (const transaction of got) await settle(transaction, 'ack');
    }
    await connector.close();
    checkCursor();
    lines.forEach((_, i) => {
      const times = final.get(i + 1) ?? 0;
      expect(times, `line ${i + 1}`).to.be.at.least(1);
      expect(times, `line ${i + 1}`).to.be.at.most(restarts + 1);
    });
    expect(JSON.parse(readFileSync(cursorPath, 'utf8'))).to.include({ line: lines.length });
  } finally {
    for (const each of connectors) await each.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('FileConnector (property)', () => {
  it('lines appended in arbitrary chunks, fetches cancelled at arbitrary points, restarts, failing dead letters: every complete line gets a final settlement, once per run, and the cursor never passes an unsettled line', async function () {
    this.timeout(60_000);
    await fc.assert(fc.asyncProperty(scenario, runScenario), { numRuns: 60 });
  });
});
