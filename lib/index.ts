export {
  AttemptTimeoutError,
  CancellationError,
  ConnectorClosedError,
  ConnectorContractError,
  DelayedReleaseUnsupportedError,
  DeadLetterError,
  DeliveryLostError,
  DispatchConflictError,
  DispatchError,
  ErgonError,
  FetchError,
  InvalidTransactionError,
  LoopTimeoutError,
  NonRetryableError,
  PartitionCapabilityError,
  PartitionConfigError,
  PolicyError,
  RateLimitedError,
  RetryLaterError,
  ScheduleError,
  SettlementError,
  TransactionError,
  type ErrorCategory,
  type PolicyIssue,
  type Stage,
} from './core/errors.js';
export { describeError } from './core/renderers.js';
export { isSecretKey, maskCredentials } from './core/mask-credentials.js';
export type { Logger } from './core/logging.js';
export {
  settleDecisionFor,
  type ExceptionOutcome,
  type FailedOutcome,
  type Outcome,
  type OutcomeStatus,
  type ReleasedOutcome,
  type ReleaseReason,
  type SettleDecision,
  type SuccessOutcome,
  type TimeoutOutcome,
} from './core/outcome.js';
export {
  createTransaction,
  decodeFailureOf,
  isTransaction,
  markUndecodable,
  type Transaction,
  type TransactionInit,
} from './core/transaction.js';
export type {
  Connector,
  ConnectorHealth,
  ConnectorScheduling,
  DispatchContext,
  DispatchFailure,
  DispatchReceipt,
  DispatchReport,
  Eventually,
  FetchRequest,
  Service,
} from './core/connector.js';
export {
  deadLetterMatches,
  deadLetterQuery,
  redriveOfKey,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetters,
  type PurgeReport,
  type RedriveReport,
} from './core/dead-letters.js';
export type { TickClaim, TickClaimResult, TickOutcome, TickStore } from './core/tick-store.js';
export {
  deliveryCountOf,
  MAX_PRIORITY,
  notBeforeOf,
  priorityOf,
} from './core/delivery-schedule.js';
export { ConnectionUnavailableError } from './core/connection-failures.js';
export { jsonCodec, PayloadDecodeError, type PayloadCodec } from './core/payload-codec.js';
export { traceHeaders, traceMetadata, traceMetadataKeys } from './core/trace-headers.js';
export { fnv1a32, partitionOf, transactionKey } from './core/transaction-key.js';
export {
  PartitionedConnector,
  partitionedConnector,
  workerPartitions,
  type PartitionedConnectorOptions,
  type WorkerSlot,
} from './core/partitioned-connector.js';

export * from './policy/index.js';

export { attempt } from './engine/attempt.js';
export { consume, type ConsumeOptions } from './engine/consume.js';
export { createDispatcher, type Dispatcher } from './engine/dispatcher.js';
export { dispatchTo } from './engine/dispatch-to.js';
export { produce } from './engine/produce.js';
export {
  producerTask,
  type ProducerTask,
  type ProducerTaskDefinition,
  consumerTask,
  type ConsumerTask,
  type ConsumerTaskDefinition,
  type ConsumerHandlers,
  type PerTransactionConsumer,
  type BatchConsumer,
  type BatchItemResult,
  type TaskDefinitionBase,
} from './engine/task-definition.js';
export type { EngineOptions } from './engine/engine-options.js';
export type { AttemptInfo, HandlerContext } from './engine/handler-context.js';
export { processWith } from './engine/process-with.js';
export { rateLimit } from './engine/rate-limit.js';
export { runTransaction, runTransactionById } from './engine/run-transaction.js';
export { BatchResultError, TaskDefinitionError } from './engine/errors.js';
export { TransactionNotFoundError } from './engine/errors.js';

export { FileConnector, type FileConnectorOptions } from './connectors/file/file-connector.js';
export { FileCursorError } from './connectors/file/file-cursor.js';
export { DeadLetterLockError, FileDeadLetters } from './connectors/file/file-dead-letters.js';
export {
  MemoryConnector,
  type MemoryConnectorOptions,
  type MemorySettlement,
} from './connectors/memory/memory-connector.js';
export * from './engine/thread-pool/index.js';
