import { existsSync, readFileSync } from 'node:fs';
import type { OutcomeStatus } from '../../../lib/index.js';

/** What a `rabbitmq-runner-task.ts` child wrote to its journal file, read back. */
export class RunnerJournal {
  /** Handler starts per `n` (a redelivery processed again counts twice). */
  readonly starts = new Map<number, number>();
  /** Outcomes per `n`, in order. */
  readonly outcomes = new Map<number, OutcomeStatus[]>();
  /** `n` whose `onException` started. */
  readonly exceptions = new Set<number>();
  /** When the first outcome was emitted (epoch ms), if any. */
  firstOutcomeAt: number | undefined;

  private constructor(lines: readonly string[]) {
    for (const line of lines) {
      const [kind, n, status, at] = line.split(' ');
      if (kind === 'start') this.starts.set(Number(n), (this.starts.get(Number(n)) ?? 0) + 1);
      if (kind === 'exception') this.exceptions.add(Number(n));
      if (kind === 'outcome') {
        this.firstOutcomeAt ??= Number(at);
        const list = this.outcomes.get(Number(n)) ?? [];
        list.push(status as OutcomeStatus);
        this.outcomes.set(Number(n), list);
      }
    }
  }

  static read(file: string): RunnerJournal {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    return new RunnerJournal(text.split('\n').filter(Boolean));
  }

  /** The `n` whose last outcome is one of `statuses`. */
  endedAs(...statuses: OutcomeStatus[]): number[] {
    return [...this.outcomes]
      .filter(([, list]) => statuses.includes(list.at(-1) as OutcomeStatus))
      .map(([n]) => n)
      .sort((a, b) => a - b);
  }

  /** Handler starts beyond one per `n`. */
  get duplicates(): number {
    let extra = 0;
    for (const count of this.starts.values()) extra += count - 1;
    return extra;
  }

  /** `n` with more than one outcome: settled twice. */
  get settledTwice(): number[] {
    return [...this.outcomes].filter(([, list]) => list.length > 1).map(([n]) => n);
  }
}
