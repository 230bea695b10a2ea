import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConsumerTask } from '../engine/task-definition.js';
import { ConsumerPolicyCodec, type ConsumerPolicyInput } from '../policy/consumer-policy.js';
import { decodePolicy } from '../policy/codecs/structures.js';
import { ergonPackageRoot, isTaskDefinition, type TaskDefinition } from '../runner/define-task.js';
import { CliUsageError, TaskModuleError } from './cli-errors.js';

/** A `<module>[#export]` argument: the module path and the export to take. */
interface ModuleReference {
  /** As given, relative to the working directory (or absolute). */
  readonly modulePath: string;
  /** The export's name (`default` when none is given). */
  readonly exportName: string;
}

/**
 * Parses `<module>[#export]`.
 *
 * @throws CliUsageError when the module path or the export name is empty.
 */
export function parseModuleReference(command: string, argument: string): ModuleReference {
  const hash = argument.lastIndexOf('#');
  const modulePath = hash === -1 ? argument : argument.slice(0, hash);
  const exportName = hash === -1 ? 'default' : argument.slice(hash + 1);
  if (modulePath === '') throw new CliUsageError(`no module in "${argument}"`, command);
  if (exportName === '') throw new CliUsageError(`empty export name in "${argument}"`, command);
  return { modulePath, exportName };
}

/** The exports of an imported module. */
export type ModuleNamespace = Readonly<Record<string, unknown>>;

/**
 * Imports a module given relative to `cwd` (or absolute). A `.ts` module only imports when
 * the CLI runs under tsx (`node --import tsx …`).
 *
 * @throws TaskModuleError when the import fails.
 */
export async function importModule(modulePath: string, cwd: string): Promise<ModuleNamespace> {
  const absolute = isAbsolute(modulePath) ? modulePath : resolve(cwd, modulePath);
  try {
    return (await import(pathToFileURL(absolute).href)) as ModuleNamespace;
  } catch (error) {
    const hint = modulePath.endsWith('.ts') ? ' (a .ts module needs tsx: node --import tsx …)' : '';
    throw new TaskModuleError(modulePath, `cannot import it${hint}`, error);
  }
}

/**
 * Imports the module of `reference` and returns its export, which must be a task definition
 * made by `defineTask`.
 *
 * @throws TaskModuleError when the import fails or the export is missing or not a definition.
 */
export async function loadTaskDefinition(
  reference: ModuleReference,
  cwd: string,
): Promise<{ readonly definition: TaskDefinition; readonly namespace: ModuleNamespace }> {
  const namespace = await importModule(reference.modulePath, cwd);
  const exported = namespace[reference.exportName];
  if (exported === undefined) {
    const names = Object.keys(namespace).join(', ') || 'none';
    throw new TaskModuleError(
      reference.modulePath,
      `has no export "${reference.exportName}" (exports: ${names})`,
    );
  }
  if (!isTaskDefinition(exported)) {
    throw new TaskModuleError(
      reference.modulePath,
      looksLikeTaskDefinition(exported)
        ? `export "${reference.exportName}" looks like a task definition made by another copy of ` +
            `ergon-rx than this command's (${ergonPackageRoot()}): two copies are installed. ` +
            `Run the project's own command (npx ergon …, from the project folder), or make the ` +
            `project use one copy (npm ls ergon-rx; npm dedupe)`
        : `export "${reference.exportName}" is not a task definition made by defineTask`,
    );
  }
  return { definition: exported, namespace };
}

/**
 * Whether a value has the shape of a frozen `defineTask` definition without being one this
 * copy of ergon-rx recognises: made by an older copy installed beside this one.
 */
function looksLikeTaskDefinition(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) return false;
  const shape = value as Partial<Record<keyof TaskDefinition, unknown>>;
  return (
    typeof shape.name === 'string' &&
    typeof shape.run === 'function' &&
    typeof shape.workers === 'number' &&
    typeof shape.shutdownGrace === 'number' &&
    typeof shape.supervision === 'object'
  );
}

/** A task definition found among a module's exports, with the path to it. */
export interface ExportedTaskDefinition {
  /** `name`, `name[2]` or `name.key` for definitions in an exported list or record. */
  readonly exportPath: string;
  readonly definition: TaskDefinition;
}

/** Every task definition a module exports: directly, or in an exported array or plain object. */
export function findTaskDefinitions(namespace: ModuleNamespace): ExportedTaskDefinition[] {
  const found: ExportedTaskDefinition[] = [];
  for (const [name, value] of Object.entries(namespace)) {
    if (isTaskDefinition(value)) {
      found.push({ exportPath: name, definition: value });
    } else if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => {
        if (isTaskDefinition(item))
          found.push({ exportPath: `${name}[${index}]`, definition: item });
      });
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (isTaskDefinition(item)) found.push({ exportPath: `${name}.${key}`, definition: item });
      }
    }
  }
  return found;
}

function isConsumerTask(value: unknown): value is ConsumerTask {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'consumer' &&
    typeof (value as { process?: unknown }).process === 'function'
  );
}

/**
 * The consumer task of a definition, by the CLI's convention (a `defineTask` configuration
 * accepts no extra keys, so the consumer lives beside it in the module):
 *
 * 1. `export const consumers = { [definition.name]: consumerTask(…) }`, else
 * 2. `export const consumer = consumerTask(…)` (for a module with one task).
 *
 * @throws TaskModuleError when neither is a consumer task.
 */
function findConsumer(
  modulePath: string,
  namespace: ModuleNamespace,
  definition: TaskDefinition,
): ConsumerTask {
  const consumers = namespace['consumers'];
  if (typeof consumers === 'object' && consumers !== null) {
    const named = (consumers as Readonly<Record<string, unknown>>)[definition.name];
    if (isConsumerTask(named)) return named;
  }
  const single = namespace['consumer'];
  if (isConsumerTask(single)) return single;
  throw new TaskModuleError(
    modulePath,
    `no consumer task for "${definition.name}": export consumers = { '${definition.name}': consumerTask(…) } or consumer = consumerTask(…)`,
  );
}

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
