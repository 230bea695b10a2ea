import { CliUsageError } from './cli-usage-error.js';

/** A `<module>[#export]` argument: the module path and the export to take. */
export interface ModuleReference {
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
