import { appendFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Runs `write`; when its folder does not exist, creates the missing folders and runs it again. */
async function creatingFolders(path: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if ((error as NodeJS.ErrnoException | null)?.code !== 'ENOENT') throw error;
    await mkdir(dirname(path), { recursive: true });
    await write();
  }
}

/** `appendFile`, creating the file's missing parent folders first. */
export function appendFileCreatingFolders(path: string, data: string | Uint8Array): Promise<void> {
  return creatingFolders(path, () => appendFile(path, data));
}

/** `writeFile`, creating the file's missing parent folders first. */
function writeFileCreatingFolders(path: string, data: string | Uint8Array): Promise<void> {
  return creatingFolders(path, () => writeFile(path, data));
}

/**
 * Replaces the file at `path` with `data` atomically (a temporary file renamed over it), so a
 * crash leaves the old content or the new one, never a mix; creates missing folders.
 */
export async function replaceFileAtomically(path: string, data: string): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFileCreatingFolders(temporary, data);
  await rename(temporary, path);
}
