import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ErgonError } from '../core/errors.js';
import { CliUsageError } from './cli-errors.js';

/**
 * Where a scaffolded project gets ergon-rx from (`ergon new --ergon-rx <source>`):
 * a package directory to pack (default: the ergon-rx running this command), a packed tarball,
 * or a version range for the registry.
 */
export type ErgonRxSource =
  | { readonly kind: 'directory'; readonly path: string }
  | { readonly kind: 'tarball'; readonly path: string }
  | { readonly kind: 'registry'; readonly range: string };

/** The folder of a scaffolded project that holds the packed ergon-rx. */
const vendorFolder = 'vendor';

/** The ergon-rx package this code runs from (two levels up from `lib/cli/` and `dist/cli/`). */
const runningPackage = fileURLToPath(new URL('../../', import.meta.url));

const runFile = promisify(execFile);

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

const looksLikePath = (text: string): boolean =>
  isAbsolute(text) || text.startsWith('.') || text.includes('/') || text.includes('\\');

/**
 * The source `--ergon-rx <option>` names (resolved against `cwd`); without the option, the
 * running ergon-rx package.
 *
 * @throws CliUsageError when the option names a path that does not exist.
 */
export async function ergonRxSource(
  option: string | undefined,
  cwd: string,
): Promise<ErgonRxSource> {
  if (option === undefined) return { kind: 'directory', path: runningPackage };
  const path = resolve(cwd, option);
  if (/\.(tgz|tar\.gz)$/.test(option)) {
    if (!(await exists(path))) throw new CliUsageError(`--ergon-rx: no file ${option}`, 'new');
    return { kind: 'tarball', path };
  }
  if (await isDirectory(path)) return { kind: 'directory', path };
  if (looksLikePath(option)) {
    throw new CliUsageError(`--ergon-rx: no directory or tarball ${option}`, 'new');
  }
  return { kind: 'registry', range: option };
}

/** `npm pack` of `directory` into `destination`; resolves with the tarball's file name. */
async function pack(directory: string, destination: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(directory, 'package.json'), 'utf8')) as {
    name?: string;
  };
  if (manifest.name !== 'ergon-rx') {
    throw new CliUsageError(`--ergon-rx: ${directory} is not the ergon-rx package`, 'new');
  }
  if (!(await exists(join(directory, 'dist', 'index.js')))) {
    throw new CliUsageError(
      `${directory} has no dist/ to pack: run npm install (or npm run build) in it first`,
      'new',
    );
  }
  try {
    // The package is built already: no prepare build, and nothing else runs.
    const { stdout } = await runFile(
      'npm',
      ['pack', directory, '--ignore-scripts', '--json', '--pack-destination', destination],
      { shell: process.platform === 'win32' },
    );
    const [packed] = JSON.parse(stdout) as { filename: string }[];
    if (packed === undefined) throw new Error('npm pack printed no file name');
    return basename(packed.filename);
  } catch (error) {
    throw new ErgonError(`cannot pack ergon-rx from ${directory} with npm pack`, {
      cause: error,
    });
  }
}

/**
 * Puts `source` where the project in `project` can install it and returns the dependency
 * version for its package.json: a directory is packed and a tarball copied into `vendor/`
 * (`file:vendor/ergon-rx-x.y.z.tgz`, which installs offline and shares the project's rxjs);
 * a registry range is returned as it is.
 */
export async function vendorErgonRx(source: ErgonRxSource, project: string): Promise<string> {
  if (source.kind === 'registry') return source.range;
  const vendor = join(project, vendorFolder);
  await mkdir(vendor, { recursive: true });
  if (source.kind === 'tarball') {
    await copyFile(source.path, join(vendor, basename(source.path)));
    return `file:${vendorFolder}/${basename(source.path)}`;
  }
  return `file:${vendorFolder}/${await pack(source.path, vendor)}`;
}
