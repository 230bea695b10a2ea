import type { ConsumerTask } from '../engine/consumer-task.js';
import type { ConsumerPolicyInput } from '../policy/consumer-policy.js';
import type { TaskDefinition } from '../runner/define-task.js';
import { CliUsageError } from './cli-usage-error.js';
import { findConsumer } from './find-consumer.js';
import { loadTaskDefinition } from './load-task-module.js';
import { parseModuleReference } from './module-reference.js';

/** What `process` and `process-by-id` run: a definition, its consumer and one named policy. */
export interface ConsumerTarget {
  readonly definition: TaskDefinition;
  readonly consumer: ConsumerTask;
  /** `definition.policies[policy]`, passed to the engine (which validates it). */
  readonly policy: ConsumerPolicyInput;
}

/**
 * Loads `<module>[#export]`, its consumer (see `findConsumer`) and the named policy.
 *
 * @throws CliUsageError when the definition has no such policy.
 * @throws TaskModuleError when the module, the definition or the consumer is missing.
 */
export async function loadConsumerTarget(
  command: string,
  target: string,
  policyName: string,
  cwd: string,
): Promise<ConsumerTarget> {
  const reference = parseModuleReference(command, target);
  const { definition, namespace } = await loadTaskDefinition(reference, cwd);
  const consumer = findConsumer(reference.modulePath, namespace, definition);
  if (!Object.hasOwn(definition.policies, policyName)) {
    const names = Object.keys(definition.policies).join(', ') || 'none';
    throw new CliUsageError(
      `task "${definition.name}" has no policy "${policyName}" (policies: ${names})`,
      command,
    );
  }
  const policy = definition.policies[policyName] as ConsumerPolicyInput;
  return { definition, consumer, policy };
}
