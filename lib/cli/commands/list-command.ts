import { CliUsageError } from '../cli-errors.js';
import { parseArguments, type CliIo, type Command } from '../command.js';
import { findTaskDefinitions, importModule } from '../load-task-module.js';

const usage = `Usage: ergon list <module> [--json]

Lists the task definitions (made by defineTask) that <module> exports, directly or inside an
exported array or object: export path, name, workers, connectors and policies.

Options:
  --json   one JSON object per definition instead of a table
  --help   show this help`;

/** `ergon list`: the task definitions a module exports. */
export const listCommand: Command = {
  name: 'list',
  summary: 'list the task definitions a module exports',
  usage,
  async execute(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArguments('list', args, { json: 'boolean' });
    const [modulePath, ...extra] = parsed.positionals;
    if (modulePath === undefined) throw new CliUsageError('missing <module>', 'list');
    if (extra.length > 0) throw new CliUsageError(`unexpected argument "${extra[0]}"`, 'list');
    const found = findTaskDefinitions(await importModule(modulePath, io.cwd));
    const rows = found.map(({ exportPath, definition }) => ({
      export: exportPath,
      name: definition.name,
      workers: definition.workers,
      connectors: Object.keys(definition.connectors),
      policies: Object.keys(definition.policies),
    }));
    if (parsed.booleans.has('json')) {
      for (const row of rows) io.stdout.write(`${JSON.stringify(row)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      io.stdout.write(`${modulePath} exports no task definitions\n`);
      return 0;
    }
    for (const row of rows) {
      io.stdout.write(
        `${row.export}\tname ${row.name}\tworkers ${row.workers}\t` +
          `connectors ${row.connectors.join(', ') || '-'}\tpolicies ${row.policies.join(', ') || '-'}\n`,
      );
    }
    return 0;
  },
};
