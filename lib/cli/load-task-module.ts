import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ergonPackageRoot, isTaskDefinition, type TaskDefinition } from '../runner/define-task.js';
import type { ModuleReference } from './module-reference.js';
import { TaskModuleError } from './task-module-error.js';

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
