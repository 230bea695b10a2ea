import { readFile, writeFile } from 'node:fs/promises';
import { format, resolveConfig } from 'prettier';

const begin = '<!-- bench-suite:begin -->';
const end = '<!-- bench-suite:end -->';

/**
 * Puts `section` between the suite's marker comments in the markdown file at `path` (right
 * under its title the first time), keeps everything else as it is, and formats the result
 * with the project's prettier settings so the tables come out aligned.
 */
export async function writeGeneratedSection(path: string, section: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  const generated = `${begin}\n\n${section.trim()}\n\n${end}`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  let updated: string;
  if (from >= 0 && to > from) {
    updated = `${text.slice(0, from)}${generated}${text.slice(to + end.length)}`;
  } else {
    const titleEnd = text.startsWith('# ') ? text.indexOf('\n') + 1 : 0;
    updated = `${text.slice(0, titleEnd)}\n${generated}\n\n${text.slice(titleEnd)}`;
  }
  const options = (await resolveConfig(path)) ?? {};
  await writeFile(path, await format(updated, { ...options, filepath: path }));
}
