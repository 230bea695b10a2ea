/**
 * The measuring skeleton the connector scripts share: every contender runs once per round, in
 * turn (so a busy moment of the machine hits them alike), each run timed by a stopwatch the
 * contender starts and stops around the part that counts (set-up such as filling a queue, and
 * tear-down, stay outside), and the results print as one markdown table with the ratio to the
 * raw driver and this process's CPU time per message (the broker's own CPU is not in it; on a
 * machine shared with the broker it is steadier than the rate).
 */

/** What one contender measured: messages per second, and this process's CPU µs per message. */
export interface Measurement {
  readonly rate: number;
  readonly cpu: number;
}

/** Started and stopped by a contender around the part of its run that counts. */
export interface Stopwatch {
  start(): void;
  stop(): void;
  /** Starts, runs `section`, stops. */
  time(section: () => Promise<void>): Promise<void>;
  /**
   * Leaves `seconds` of idle waiting inside the window out of the rate (e.g. a broker's
   * deliberate delay); the CPU spent meanwhile stays in.
   */
  leaveOut(seconds: number): void;
}

/** One run of a contender over `count` messages (it throws when it handled fewer). */
export type Contender = (watch: Stopwatch) => Promise<void>;

/** Called around every measured window, e.g. to profile the hot path alone. */
export interface WindowHooks {
  start(): void;
  stop(): Promise<void>;
}

export interface RoundsOptions {
  /** Messages per run. */
  readonly count: number;
  readonly rounds: number;
  /** One untimed round first, so every contender is measured with optimized code. */
  readonly warmUp: boolean;
  /** `median`: the median rate and CPU of the rounds; `best`: the highest rate and least CPU. */
  readonly pick: 'median' | 'best';
  readonly window?: WindowHooks;
}

class RunStopwatch implements Stopwatch {
  private started: bigint | undefined;
  private cpuAtStart: NodeJS.CpuUsage | undefined;
  private seconds: number | undefined;
  private leftOut = 0;
  private cpuMicros = 0;
  /** The window hook's `stop`, awaited once the run is over. */
  windowClosed: Promise<void> = Promise.resolve();

  constructor(private readonly window: WindowHooks | undefined) {}

  start(): void {
    this.window?.start();
    this.cpuAtStart = process.cpuUsage();
    this.started = process.hrtime.bigint();
  }

  stop(): void {
    if (this.started === undefined || this.cpuAtStart === undefined) {
      throw new Error('stopwatch stopped before it was started');
    }
    this.seconds = Number(process.hrtime.bigint() - this.started) / 1e9 - this.leftOut;
    const used = process.cpuUsage(this.cpuAtStart);
    this.cpuMicros = used.user + used.system;
    if (this.window !== undefined) this.windowClosed = this.window.stop();
  }

  async time(section: () => Promise<void>): Promise<void> {
    this.start();
    await section();
    this.stop();
  }

  leaveOut(seconds: number): void {
    this.leftOut += seconds;
  }

  measurement(name: string, count: number): Measurement {
    if (this.seconds === undefined) throw new Error(`${name}: the run never stopped its stopwatch`);
    return { rate: count / this.seconds, cpu: this.cpuMicros / count };
  }
}

async function runOnce(
  name: string,
  contender: Contender,
  { count, window }: RoundsOptions,
): Promise<Measurement> {
  const watch = new RunStopwatch(window);
  await contender(watch);
  await watch.windowClosed;
  return watch.measurement(name, count);
}

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Runs every contender `rounds` times, in turn, and sums each one up as `pick` says. */
export async function measureRounds(
  contenders: Readonly<Record<string, Contender>>,
  options: RoundsOptions,
): Promise<Map<string, Measurement>> {
  const entries = Object.entries(contenders);
  if (options.warmUp) {
    for (const [name, contender] of entries) await runOnce(name, contender, options);
  }
  const runs = new Map<string, Measurement[]>(entries.map(([name]) => [name, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (const [name, contender] of entries) {
      runs.get(name)?.push(await runOnce(name, contender, options));
    }
  }
  const summed = new Map<string, Measurement>();
  for (const [name, measured] of runs) {
    const rates = measured.map((m) => m.rate);
    const cpus = measured.map((m) => m.cpu);
    summed.set(
      name,
      options.pick === 'median'
        ? { rate: median(rates), cpu: median(cpus) }
        : { rate: Math.max(...rates), cpu: Math.min(...cpus) },
    );
  }
  return summed;
}

/**
 * The markdown table of `results`, the ratios taken to the contender named `baseline` (the raw
 * driver): of the rates, and of the CPU per message (raw ÷ this, so above 1 is cheaper than
 * raw). `unit` names what a message is (`msgs`, `rows`).
 */
export function resultTable(
  results: ReadonlyMap<string, Measurement>,
  baseline: string,
  unit = 'msgs',
): string {
  const raw = results.get(baseline);
  if (raw === undefined) throw new Error(`no result for the baseline "${baseline}"`);
  return [
    `| contender | ${unit}/s | × raw | CPU µs/${unit.replace(/s$/, '')} | × raw by CPU |`,
    '|---|---:|---:|---:|---:|',
    ...[...results].map(
      ([name, { rate, cpu }]) =>
        `| ${name} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / raw.rate).toFixed(2)} | ${cpu.toFixed(1)} | ${(raw.cpu / cpu).toFixed(2)} |`,
    ),
  ].join('\n');
}

/** A run that consumes every message it was given and says how many it handled. */
export interface ConsumeRun {
  consume(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A contender whose every run is set up untimed (`setUp`, which fills its queue and opens the
 * run), timed while it consumes, checked to have handled `count`, then closed and torn down
 * (`tearDown`) whatever happened.
 */
export function consumeContender(
  setUp: () => Promise<ConsumeRun>,
  count: number,
  tearDown: () => Promise<void>,
): Contender {
  return async (watch) => {
    try {
      const run = await setUp();
      try {
        let done = 0;
        await watch.time(async () => {
          done = await run.consume();
        });
        if (done !== count) throw new Error(`processed ${done} of ${count}`);
      } finally {
        await run.close();
      }
    } finally {
      await tearDown();
    }
  };
}

/**
 * A contender whose every run gets a fresh resource (a queue, a stream: `create`, untimed) and
 * removes it afterwards (`destroy`), whatever happened.
 */
export function onFresh<R>(
  create: () => Promise<R>,
  destroy: (resource: R) => Promise<unknown>,
  run: (resource: R, watch: Stopwatch) => Promise<void>,
): Contender {
  return async (watch) => {
    const resource = await create();
    try {
      await run(resource, watch);
    } finally {
      await destroy(resource);
    }
  };
}
