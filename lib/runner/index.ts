export {
  defineTask,
  type BuiltBy,
  type ConnectorFactories,
  type ConnectorFactory,
  type ResourceContext,
  type ServiceFactories,
  type ServiceFactory,
  type TaskConfig,
  type TaskContext,
  type TaskContextOf,
  type TaskDefinition,
  type TaskPolicies,
  type TaskPolicyInput,
} from './define-task.js';
export {
  EndpointListenError,
  EscapedError,
  ExitCode,
  PrimaryLostError,
  ResourceInitError,
  RunResultError,
  StartupCancelledError,
  WorkerRestartLimitError,
  WorkerUnhealthyError,
  type EscapeRoute,
  type ExitCodeValue,
  type WorkerUnhealthyReason,
} from './runner-errors.js';
export { runTask, type RunTaskOptions } from './run-task.js';
export {
  SUPERVISION_DEFAULTS,
  SupervisionConfigCodec,
  type SupervisionConfigInput,
  type SupervisionSettings,
} from './supervision-config-codec.js';
export { TaskConfigCodec } from './task-config-codec.js';
export {
  currentWorkerIdentity,
  WORKER_ID_VARIABLE,
  WORKER_RESTARTS_VARIABLE,
  type WorkerIdentity,
} from './worker-environment.js';
export {
  DASHBOARD_DEFAULTS,
  DashboardConfigCodec,
  type DashboardConfigInput,
  type DashboardSettings,
} from '../dashboard/dashboard-config.js';
export type {
  BreakerState,
  DashboardConnector,
  DashboardConnectorHealth,
  DashboardDeadLetter,
  DashboardDeadLetterAction,
  DashboardDeadLetterConnector,
  DashboardDeadLetters,
  DashboardFailure,
  DashboardFailures,
  DashboardProblem,
  DashboardSample,
  DashboardStatus,
  DashboardWorker,
  LatencyPercentiles,
  StatusCounts,
} from '../dashboard/dashboard-api.js';
