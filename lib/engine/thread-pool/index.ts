export type { ThreadCallInfo, ThreadFunction } from './thread-call-info.js';
export { ThreadError } from './thread-error.js';
export { ThreadExitError } from './thread-exit-error.js';
export { ThreadPayloadError } from './thread-payload-error.js';
export type { ThreadPoolOptions } from './thread-pool-options.js';
export { ThreadPoolClosedError } from './thread-pool-closed-error.js';
export {
  threadPool,
  ThreadPool,
  type ThreadHandler,
  type ThreadPoolStats,
  type ThreadRunOptions,
} from './thread-pool.js';
