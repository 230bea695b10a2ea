import type { ThreadCallInfo } from './thread-pool.js';

/** A call the pool posts to a thread. */
export interface ThreadRequest {
  readonly moduleUrl: string;
  readonly exportName: string;
  readonly payload: unknown;
  readonly info: ThreadCallInfo;
}

/** An error thrown in a thread, as plain data. */
export interface SerializedThreadError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
}

/** What a thread posts back: one response per request, in order. */
export type ThreadResponse =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: SerializedThreadError };
