/**
 * The exit codes `runTask` resolves with: `success` (0), `runError` (1: the run, a factory, an
 * `init` or the exit hook failed), `configError` (2: the task configuration was invalid),
 * `interrupted` (130 = 128 + SIGINT) and `terminated` (143 = 128 + SIGTERM).
 *
 * @example
 * ```ts
 * const code = await runTask(task);
 * if (code === ExitCode.terminated) console.log('stopped by SIGTERM');
 * ```
 */
export const ExitCode = {
  success: 0,
  runError: 1,
  configError: 2,
  interrupted: 130,
  terminated: 143,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
