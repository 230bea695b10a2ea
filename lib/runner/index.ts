export {
  defineTask,
  type BuiltBy,
  type ConnectorFactories,
  type ConnectorFactory,
  type ServiceFactories,
  type ServiceFactory,
  type TaskConfig,
  type TaskContextOf,
  type TaskDefinition,
  type TaskPolicies,
} from './define-task.js';
export { EscapedError, type EscapeRoute } from './escaped-error.js';
export { ExitCode, type ExitCodeValue } from './exit-code.js';
export {
  DEFAULT_HEALTH_HOST,
  startHealthServer,
  stopHealthServer,
  type HealthProbe,
} from './health-server.js';
export { PrimaryLostError } from './primary-lost-error.js';
export { ResourceInitError, StartupCancelledError } from './resource-init-error.js';
export { restartDelay } from './restart-delay.js';
export { RunResultError } from './run-result-error.js';
export { runTask, type RunTaskOptions } from './run-task.js';
export {
  SUPERVISION_DEFAULTS,
  SupervisionConfigCodec,
  type SupervisionConfigInput,
  type SupervisionSettings,
} from './supervision-config-codec.js';
export { TaskConfigCodec } from './task-config-codec.js';
export type { ResourceContext, TaskContext } from './task-context.js';
export {
  currentWorkerIdentity,
  WORKER_ID_VARIABLE,
  WORKER_RESTARTS_VARIABLE,
  type WorkerIdentity,
} from './worker-environment.js';
export { WorkerLiveness } from './worker-liveness.js';
export {
  isWorkerHeartbeat,
  isWorkerStopRequest,
  type WorkerHeartbeat,
  type WorkerState,
  type WorkerStopRequest,
} from './worker-messages.js';
export { WorkerPoolSupervisor } from './worker-pool-supervisor.js';
export { WorkerRestartLimitError } from './worker-restart-limit-error.js';
export { WorkerUnhealthyError, type WorkerUnhealthyReason } from './worker-unhealthy-error.js';
