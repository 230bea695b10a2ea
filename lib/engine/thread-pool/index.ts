export {
  ThreadError,
  ThreadExitError,
  ThreadPayloadError,
  ThreadPoolClosedError,
} from './thread-errors.js';
export {
  threadPool,
  ThreadPool,
  type ThreadCallInfo,
  type ThreadFunction,
  type ThreadHandler,
  type ThreadPoolOptions,
  type ThreadPoolStats,
  type ThreadRunOptions,
} from './thread-pool.js';
