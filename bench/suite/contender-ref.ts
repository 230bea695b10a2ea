import type { RunResult } from '../contenders/run-result.js';

/**
 * Names a contender for a child process to run: an exported function of a module under the
 * compiled bench root, the JSON parameters of the measured run, and optionally of a warm-up
 * run done first in the same process (so the measured run sees optimized code).
 */
export interface ContenderRef {
  /** Module path relative to the bench root, e.g. `contenders/engine.js`. */
  readonly module: string;
  readonly name: string;
  readonly params: unknown;
  readonly warmup?: unknown;
  /** Extra `node` flags for the child. */
  readonly nodeFlags?: readonly string[];
}

/** The parameters an exported contender function of `M` takes. */
type ParamsOf<F> = F extends (params: infer P) => Promise<RunResult> ? P : never;

/**
 * A typed way to name contenders of the module at `path` (whose type is `M`, e.g.
 * `typeof engineContenders`): the name must be one of its exports and the
 * parameters must fit that export. Only the path crosses to the child, so the parent never
 * loads the contender's dependencies.
 *
 * @example
 * ```ts
 * import type * as engineContenders from '../contenders/engine.js';
 * const engine = contendersOf<typeof engineContenders>('contenders/engine.js');
 * engine('pQueue', { count: 1000, concurrency: 64, workload: { kind: 'no-op' }, latency: true });
 * ```
 */
export function contendersOf<M>(path: string) {
  return <K extends keyof M & string>(
    name: K,
    params: ParamsOf<M[K]>,
    options: { readonly warmup?: ParamsOf<M[K]>; readonly nodeFlags?: readonly string[] } = {},
  ): ContenderRef => ({ module: path, name, params, ...options });
}
