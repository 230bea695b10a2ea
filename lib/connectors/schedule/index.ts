export {
  cronConnector,
  intervalConnector,
  ScheduleConnector,
  type CatchUpPolicy,
  type CronConnectorOptions,
  type IntervalConnectorOptions,
  type OverlapPolicy,
  type ScheduledTick,
  type ScheduleOptions,
  type TickMetadata,
} from './schedule-connector.js';
export { MemoryTickStore } from './memory-tick-store.js';
export type { TickClaim, TickClaimResult, TickOutcome, TickStore } from '../../core/tick-store.js';
