export { AttemptTimeoutError } from './core/attempt-timeout-error.js';
export { CancellationError } from './core/cancellation-error.js';
export { decodeFailureOf, markUndecodable } from './core/decode-failure.js';
export { DeliveryLostError } from './core/delivery-lost-error.js';
export { describeError } from './core/describe-error.js';
export { DispatchConflictError } from './core/dispatch-conflict-error.js';
export { isSecretKey, maskCredentials } from './core/mask-credentials.js';
export { DispatchError } from './core/dispatch-error.js';
export type { DispatchFailure, DispatchReceipt } from './core/dispatch-receipt.js';
export { ErgonError } from './core/ergon-error.js';
export type { Eventually } from './core/eventually.js';
export { FetchError } from './core/fetch-error.js';
export { InvalidTransactionError } from './core/invalid-transaction-error.js';
export { isTransaction } from './core/is-transaction.js';
export type { Logger } from './core/logger.js';
export { LoopTimeoutError } from './core/loop-timeout-error.js';
export { NonRetryableError } from './core/non-retryable-error.js';
export type {
  ExceptionOutcome,
  FailedOutcome,
  Outcome,
  OutcomeStatus,
  ReleasedOutcome,
  SuccessOutcome,
  TimeoutOutcome,
} from './core/outcome.js';
export { settleDecisionFor } from './core/outcome.js';
export { PolicyError, type PolicyIssue } from './core/policy-error.js';
export type { ReleaseReason, SettleDecision } from './core/settle-decision.js';
export { createTransaction, type Transaction, type TransactionInit } from './core/transaction.js';
export { TransactionError, type ErrorCategory, type Stage } from './core/transaction-error.js';

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
} from './engine/task-definition.js';
export type { EngineOptions } from './engine/engine-options.js';
export type { AttemptInfo, HandlerContext } from './engine/handler-context.js';
export { processWith } from './engine/process-with.js';
export { runTransaction, runTransactionById } from './engine/run-transaction.js';
export { TaskDefinitionError } from './engine/errors.js';
export { TransactionNotFoundError } from './engine/errors.js';

export { ConnectorClosedError } from './connector/connector-closed-error.js';
export { ConnectorContractError } from './connector/connector-contract-error.js';
export { ConnectionUnavailableError } from './connector/connection-failures.js';
export type {
  Connector,
  ConnectorHealth,
  DispatchContext,
  DispatchReport,
  FetchRequest,
  Service,
} from './connector/connector.js';
export { jsonCodec, PayloadDecodeError, type PayloadCodec } from './connector/payload-codec.js';
export { traceHeaders, traceMetadata, traceMetadataKeys } from './connector/trace-headers.js';
export { FileConnector, type FileConnectorOptions } from './connector/file-connector.js';
export { FileCursorError } from './connector/file-cursor.js';
export {
  MemoryConnector,
  type MemoryConnectorOptions,
  type MemorySettlement,
} from './connector/memory-connector.js';
export { SettlementError } from './connector/settlement-error.js';
export * from './engine/thread-pool/index.js';
