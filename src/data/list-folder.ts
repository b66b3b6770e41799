import { readdir } from 'node:fs/promises';

/** The names in a folder; an absent folder holds none (any other error is thrown). */
export async function listFolder(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
