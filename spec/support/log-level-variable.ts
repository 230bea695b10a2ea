/**
 * Runs `body` with `ERGON_LOG_LEVEL` set to `value` (`undefined`: unset), then puts back what
 * was there (spec/support/quiet-logs.ts sets it to `silent` for the whole suite).
 *
 * @example
 * ```ts
 * const config = await withLogLevelVariable(undefined, () => loggingConfig());
 * ```
 */
export async function withLogLevelVariable<T>(
  value: string | undefined,
  body: () => T | Promise<T>,
): Promise<T> {
  const before = process.env['ERGON_LOG_LEVEL'];
  setVariable(value);
  try {
    return await body();
  } finally {
    setVariable(before);
  }
}

function setVariable(value: string | undefined): void {
  if (value === undefined) delete process.env['ERGON_LOG_LEVEL'];
  else process.env['ERGON_LOG_LEVEL'] = value;
}

/**
 * For the `describe` of specs about default levels: unsets `ERGON_LOG_LEVEL` before each spec
 * (spec/support/quiet-logs.ts sets it `silent` for the suite) and puts it back after.
 */
export function withoutLogLevelVariable(): void {
  let before: string | undefined;
  beforeEach(() => {
    before = process.env['ERGON_LOG_LEVEL'];
    setVariable(undefined);
  });
  afterEach(() => setVariable(before));
}
