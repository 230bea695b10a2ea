export { AttemptEndedError, EffectivelyOnceError } from './errors.js';
export { inbox, Inbox, type InboxConfig, type InboxConfigInput } from './inbox.js';
export { relayOutbox, type OutboxRelayOptions } from './outbox-relay.js';
export {
  transactional,
  TransactionalConsumer,
  type Outbox,
  type TransactionalContext,
  type TransactionalOptions,
  type TransactionalTaskDefinition,
  type TransactionDb,
} from './transactional.js';
