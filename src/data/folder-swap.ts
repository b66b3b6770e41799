import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDirectory, writeFileAtomic } from './atomic-file.js';
import { DATA_FOLDERS, type DataFolder, dataPaths, STAGING_PREFIX } from './layout.js';
import { listFolder } from './list-folder.js';
import { utcStamp } from './safe-names.js';

/**
 * Swapping restored folders in with renames, and undoing a swap a crash interrupted.
 *
 * A staging folder `DATA_DIR/.restore-<stamp>-<random>/` holds `new/` (the restored `reports/`
 * and `memories/`) and, during the swap, `old/` (the live folders moved aside) and
 * `journal.json`. The journal is written (durably) before the first rename and removed (durably)
 * after the last one: a staging folder with a journal is a swap a crash interrupted, and it is
 * rolled back, so the live folders end exactly as they were before the restore; one without a
 * journal is either not yet swapped or completely swapped, and is simply removed.
 */

/** A restore's staging folder. */
export interface Staging {
  readonly dir: string;
  /** Where the restored folders are extracted. */
  readonly newDir: string;
  /** Where the live folders go during the swap. */
  readonly oldDir: string;
}

interface Journal {
  phase: 'swapping';
  had: Partial<Record<DataFolder, boolean>>;
  started_at: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function writeJournal(staging: Staging, journal: Journal): Promise<void> {
  await writeFileAtomic(join(staging.dir, 'journal.json'), JSON.stringify(journal));
}

async function readJournal(dir: string): Promise<Journal | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as Journal;
  } catch {
    return undefined;
  }
}

/** Creates an empty staging folder inside `dataDir`. */
export async function createStaging(dataDir: string): Promise<Staging> {
  const root = dataPaths(dataDir).root;
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = join(root, `${STAGING_PREFIX}${utcStamp(new Date(), '_')}-${randomBytes(4).toString('hex')}`);
  const staging: Staging = { dir, newDir: join(dir, 'new'), oldDir: join(dir, 'old') };
  await mkdir(staging.newDir, { recursive: true, mode: 0o700 });
  return staging;
}

/**
 * Moves the live `reports/` and `memories/` into `old/` and the staged ones into their place.
 * On any error every rename done so far is undone before the error is passed on.
 */
export async function swapIn(dataDir: string, staging: Staging): Promise<void> {
  const root = dataPaths(dataDir).root;
  const had: Partial<Record<DataFolder, boolean>> = {};
  for (const f of DATA_FOLDERS) had[f] = await exists(join(root, f));
  for (const f of DATA_FOLDERS) await mkdir(join(staging.newDir, f), { recursive: true, mode: 0o700 });
  await mkdir(staging.oldDir, { recursive: true, mode: 0o700 });
  await fsyncDirectory(staging.newDir);
  await writeJournal(staging, { phase: 'swapping', had, started_at: new Date().toISOString() });
  const done: Array<() => Promise<void>> = [];
  try {
    for (const f of DATA_FOLDERS) {
      const live = join(root, f);
      const aside = join(staging.oldDir, f);
      const fresh = join(staging.newDir, f);
      if (had[f]) {
        await rename(live, aside);
        done.push(() => rename(aside, live));
      }
      await rename(fresh, live);
      done.push(() => rename(live, fresh));
    }
    await fsyncDirectory(root);
    await fsyncDirectory(staging.oldDir);
    // Committed: from here on a crash leaves a staging folder without journal, which is removed.
    await unlink(join(staging.dir, 'journal.json'));
    await fsyncDirectory(staging.dir);
  } catch (err) {
    // If an undo fails too, the journal stays: the staging folder then holds the original data
    // and recoverInterruptedRestores finishes the rollback (see discardStaging).
    for (const undo of done.reverse()) await undo();
    await fsyncDirectory(root);
    await unlink(join(staging.dir, 'journal.json'));
    throw err;
  }
}

/** Removes a staging folder and everything in it. */
export async function removeStaging(staging: Pick<Staging, 'dir'>): Promise<void> {
  await rm(staging.dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Removes a staging folder after a restore, unless it holds a swap that was neither committed nor
 * rolled back (its journal is still there): that folder keeps the original data, and
 * {@link recoverInterruptedRestores} puts it back (next restore or service start). Returns
 * whether the folder was removed.
 */
export async function discardStaging(staging: Pick<Staging, 'dir'>): Promise<boolean> {
  if (await exists(join(staging.dir, 'journal.json'))) return false;
  await removeStaging(staging);
  return true;
}

/** What {@link recoverInterruptedRestores} did with one staging folder. */
export interface Recovery {
  readonly dir: string;
  readonly action: 'rolled_back' | 'cleaned_up';
}

/**
 * Finishes restores that a crash interrupted: a swap that did not commit is undone (the live
 * folders return exactly as they were), then the staging folder is removed. The caller must hold
 * the restore lock.
 */
export async function recoverInterruptedRestores(dataDir: string): Promise<Recovery[]> {
  const root = dataPaths(dataDir).root;
  const names = await listFolder(root);
  const out: Recovery[] = [];
  for (const name of names.filter((n) => n.startsWith(STAGING_PREFIX)).sort()) {
    const dir = join(root, name);
    const staging: Staging = { dir, newDir: join(dir, 'new'), oldDir: join(dir, 'old') };
    const journal = await readJournal(dir);
    let action: Recovery['action'] = 'cleaned_up';
    if (journal?.phase === 'swapping') {
      for (const f of DATA_FOLDERS) {
        const live = join(root, f);
        const aside = join(staging.oldDir, f);
        const fresh = join(staging.newDir, f);
        if (await exists(aside)) {
          // The original was moved aside; whatever sits in its place now is the restored copy.
          if (await exists(live))
            await rename(live, fresh).catch(() => rm(live, { recursive: true, force: true }));
          await rename(aside, live);
        } else if (!journal.had[f] && (await exists(live)) && !(await exists(fresh))) {
          // There was no original: the restored copy was moved in, take it out again.
          await rename(live, fresh);
        }
      }
      await fsyncDirectory(root);
      action = 'rolled_back';
    }
    await removeStaging(staging);
    out.push({ dir, action });
  }
  return out;
}
