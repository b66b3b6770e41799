import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../core/errors.js';
import { DATA_FOLDERS } from '../data/layout.js';
import { checkEntryPath, shown } from './entry-path.js';

/** A folder or regular file under `reports/` or `memories/`, by its archive path. */
export interface TreeEntry {
  readonly kind: 'directory' | 'file';
  /** `/`-separated path relative to `DATA_DIR`, e.g. `memories/slack_U1-ab12.json`. */
  readonly path: string;
  readonly absolute: string;
}

function kindName(d: { isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  if (d.isSymbolicLink()) return 'symbolic link';
  if (d.isFIFO()) return 'FIFO';
  if (d.isSocket()) return 'socket';
  return 'device';
}

/**
 * Lists `reports/` and `memories/` under `root` depth first in a stable order, folders before their
 * contents. Anything but folders and regular files (a symlink, a device) and any name a restore
 * would refuse stops the walk with `backup_failed`: a backup never silently leaves data out.
 * A folder that vanishes during the walk is skipped (its data was being deleted).
 */
export async function walkDataTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const visit = async (rel: string, absolute: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(absolute, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    out.push({ kind: 'directory', path: rel, absolute });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of entries) {
      const path = `${rel}/${d.name}`;
      const abs = join(absolute, d.name);
      if (!d.isDirectory() && !d.isFile()) {
        throw new AppError(
          'backup_failed',
          `cannot back up ${shown(path)}: it is a ${kindName(d)}; the data folder must hold only files and folders`,
        );
      }
      const check = checkEntryPath(path, d.isDirectory() ? 'directory' : 'file');
      if (!check.ok) throw new AppError('backup_failed', `cannot back up ${shown(path)}: ${check.reason}`);
      if (d.isDirectory()) await visit(path, abs);
      else out.push({ kind: 'file', path, absolute: abs });
    }
  };
  for (const folder of DATA_FOLDERS) await visit(folder, join(root, folder));
  return out;
}
