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
export { ExitCode, type ExitCodeValue } from './exit-code.js';
export { ResourceInitError } from './resource-init-error.js';
export { runTask, type RunTaskOptions } from './run-task.js';
export { TaskConfigCodec } from './task-config-codec.js';
export type { ResourceContext, TaskContext } from './task-context.js';
