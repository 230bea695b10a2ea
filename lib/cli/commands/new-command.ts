import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { CliUsageError } from '../cli-errors.js';
import { parseArguments, type CliIo, type Command } from '../command.js';
import { ergonRxSource, vendorErgonRx } from '../ergon-rx-dependency.js';
import { projectTemplate, scaffoldVersions } from '../project-template.js';

const usage = `Usage: ergon new <dir> [--ergon-rx <dir|tarball|range>] [--observability]

Scaffolds a project in <dir> (created; it must not exist or be empty): package.json
(ergon-rx, rxjs; mocha, chai, tsx, typescript), tsconfig.json, .mocharc.json, a task in
src/task.ts (defineTask + consumerTask over a MemoryConnector), a spec in spec/task.spec.ts
and a README. Then: cd <dir> && npm install && npm test.

The project gets ergon-rx as vendor/ergon-rx-<version>.tgz, packed from the ergon-rx running
this command: it installs offline, with one copy of rxjs shared by the project and ergon-rx.

Options:
  --ergon-rx <source>  where ergon-rx comes from: an ergon-rx directory to pack, a packed
                       .tgz to copy into vendor/, or a registry range such as ^0.1.0
                       (default: the running ergon-rx, packed)
  --observability      also write observability/: a Docker Compose stack (OpenTelemetry
                       Collector, Jaeger, Prometheus, Grafana with the ergon-rx dashboard
                       provisioned), and "npm run observe" to run the task into it
  --help               show this help`;

/** The stack `--observability` copies: assets/observability/ of this ergon-rx. */
const observabilityStack = fileURLToPath(
  new URL('../../../assets/observability/', import.meta.url),
);

/** Copies the observability stack into `directory`/observability; resolves the files written. */
async function copyObservabilityStack(directory: string): Promise<string[]> {
  const target = join(directory, 'observability');
  await cp(observabilityStack, target, { recursive: true, errorOnExist: true, force: false });
  const written = await readdir(target, { recursive: true, withFileTypes: true });
  return written
    .filter((entry) => entry.isFile())
    .map((entry) => join('observability', relative(target, join(entry.parentPath, entry.name))))
    .sort();
}

async function isEmptyOrMissing(directory: string): Promise<boolean> {
  try {
    return (await readdir(directory)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

/** A valid npm package name from a directory name. */
function packageName(directory: string): string {
  const name = basename(directory)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '');
  return name === '' ? 'ergon-task' : name;
}

/** `ergon new`: scaffolds a working project. */
export const newCommand: Command = {
  name: 'new',
  summary: 'scaffold a project with a task, a spec and a README',
  usage,
  async execute(args: readonly string[], io: CliIo): Promise<number> {
    const parsed = parseArguments('new', args, {
      'ergon-rx': 'string',
      observability: 'boolean',
    });
    const observability = parsed.booleans.has('observability');
    const [target, ...extra] = parsed.positionals;
    if (target === undefined) throw new CliUsageError('missing <dir>', 'new');
    if (extra.length > 0) throw new CliUsageError(`unexpected argument "${extra[0]}"`, 'new');
    const directory = resolve(io.cwd, target);
    if (!(await isEmptyOrMissing(directory))) {
      throw new CliUsageError(`${target} exists and is not empty`, 'new');
    }
    const source = await ergonRxSource(parsed.strings['ergon-rx'], io.cwd);
    const ergon = await vendorErgonRx(source, directory);
    if (ergon.startsWith('file:')) io.stdout.write(`created ${join(target, ergon.slice(5))}\n`);
    const files = projectTemplate(packageName(directory), scaffoldVersions(ergon), {
      observability,
    });
    for (const file of files) {
      const path = join(directory, file.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.content);
      io.stdout.write(`created ${join(target, file.path)}\n`);
    }
    if (observability) {
      for (const path of await copyObservabilityStack(directory)) {
        io.stdout.write(`created ${join(target, path)}\n`);
      }
    }
    io.stdout.write(`\nnext: cd ${target} && npm install && npm test\n`);
    return 0;
  },
};
