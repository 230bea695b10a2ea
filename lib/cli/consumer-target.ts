import type { ConsumerTask } from '../engine/task-definition.js';
import { ConsumerPolicyCodec, type ConsumerPolicyInput } from '../policy/consumer-policy.js';
import { decodePolicy } from '../policy/decode-policy.js';
import type { TaskDefinition } from '../runner/define-task.js';
import { CliUsageError } from './cli-usage-error.js';
import { findConsumer } from './find-consumer.js';
import { loadTaskDefinition } from './load-task-module.js';
import { parseModuleReference } from './module-reference.js';

/** What `process` and `process-by-id` run: a definition, its consumer and one named policy. */
export interface ConsumerTarget {
  readonly definition: TaskDefinition;
  readonly consumer: ConsumerTask;
  /** `definition.policies[policy]`, validated, passed to the engine as it is. */
  readonly policy: ConsumerPolicyInput;
}

/**
 * Loads `<module>[#export]`, its consumer (see `findConsumer`) and the named policy, which
 * is checked before anything runs or connects.
 *
 * @throws CliUsageError when the definition has no such policy.
 * @throws PolicyError when the policy is not a valid consumer policy (exit code 2).
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
  decodePolicy(
    ConsumerPolicyCodec,
    `consumer policy "${policyName}" of task "${definition.name}"`,
    policy,
  );
  return { definition, consumer, policy };
}
