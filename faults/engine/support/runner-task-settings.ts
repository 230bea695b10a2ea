/** The misbehaviours `rabbitmq-runner-task.ts` can act out. */
export type RunnerScenario = 'hang' | 'leaked-rejection' | 'escaped-throw' | 'slow-exception';

/** What the parent spec tells the child task, as one JSON argument. */
export interface RunnerTaskSettings {
  readonly scenario: RunnerScenario;
  readonly url: string;
  readonly queue: string;
  /** The journal file (see `rabbitmq-runner-task.ts`). */
  readonly journal: string;
  /** The `n` of the deliveries that misbehave (all of them for `slow-exception`). */
  readonly faulty: readonly number[];
  readonly concurrency: number;
  /**
   * `loop.limit`: the run completes after that many deliveries, or `null` to run until
   * stopped. The loop is streaming either way, so a slow broker never ends it early.
   */
  readonly limit: number | null;
  /** How long the handler works on a delivery that behaves. */
  readonly workMs: number;
  /** `process.retry.timeout`, or `null` for none. */
  readonly timeoutMs: number | null;
  /** `loop.shutdownGrace`; the runner's `shutdownGrace` is 2 s longer. */
  readonly graceMs: number;
  /** How long `onException` takes (`slow-exception`). */
  readonly exceptionMs: number;
}

/** The settings were not the JSON of a {@link RunnerTaskSettings}. */
class RunnerTaskSettingsError extends Error {
  constructor(text: string | undefined) {
    super(`expected RunnerTaskSettings as JSON, got ${String(text)}`);
    this.name = 'RunnerTaskSettingsError';
  }
}

const scenarios: readonly string[] = [
  'hang',
  'leaked-rejection',
  'escaped-throw',
  'slow-exception',
] satisfies readonly RunnerScenario[];

/** Reads the settings argument. */
export function parseRunnerTaskSettings(text: string | undefined): RunnerTaskSettings {
  const value: unknown = text === undefined ? undefined : JSON.parse(text);
  if (
    typeof value !== 'object' ||
    value === null ||
    !('scenario' in value) ||
    typeof value.scenario !== 'string' ||
    !scenarios.includes(value.scenario)
  ) {
    throw new RunnerTaskSettingsError(text);
  }
  return value as RunnerTaskSettings;
}
