import { defineTask, type TaskConfig } from '../../../lib/runner/define-task.js';
import type { DecoderUnderTest } from './decoder-under-test.js';

/**
 * The runner's task-configuration decoder (`defineTask`, through `TaskConfigCodec`), with the
 * fields docs/runner.md lists. `connectors`, `services` and `policies` take any key.
 */
export const taskConfigDecoder: DecoderUnderTest = {
  name: 'defineTask',
  decode: (input) => defineTask(input as TaskConfig),
  required: ['name', 'run'],
  openPaths: ['connectors', 'services', 'policies'],
  fields: {
    name: 'nonEmptyName',
    run: 'function',
    exit: 'function',
    'connectors.orders': 'function',
    'connectors.refunds': 'function',
    'services.db': 'function',
    shutdownGrace: 'duration',
    workers: 'positiveInteger',
    'supervision.heartbeat': 'positiveDuration',
    'supervision.wedgedAfter': 'positiveDuration',
    'supervision.stalledAfter': 'positiveDuration',
    'supervision.startupGrace': 'positiveDuration',
    'supervision.restart.backoff': 'duration',
    'supervision.restart.backoffCap': 'duration',
    'supervision.restart.maxRestarts': 'nonNegativeInteger',
    'supervision.http.port': 'tcpPort',
  },
};
