import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AppError } from '../core/errors.js';
import { acquireRestoreLock, describeHolder, type LockHolder, serviceHolders } from '../data/data-lock.js';
import { createStaging, discardStaging, recoverInterruptedRestores, swapIn } from '../data/folder-swap.js';
import { dataPaths } from '../data/layout.js';
import { applyRetention } from './archive-files.js';
import { type BackupResult, createBackup } from './create-backup.js';
import type { Manifest } from './manifest.js';
import { StagingWriter } from './staging-writer.js';
import type { ReadLimits } from './tar-reader.js';
import { walkDataTree } from './tree-walk.js';
import { checkArchiveFile, verifyArchive } from './verify-backup.js';

/** Options for {@link restoreBackup}. */
export interface RestoreOptions {
  readonly archive: string;
  readonly dataDir: string;
  readonly backupDir: string;
  /** Retention of `backup_pre_restore_*` archives. */
  readonly keep: number;
  readonly appVersion: string;
  readonly gzipLevel?: number;
  readonly limits: ReadLimits;
  /** Restore even though a service instance holds the data folder. */
  readonly force?: boolean;
  /** Verify and compare with the live data; change nothing. */
  readonly dryRun?: boolean;
  /** Told about stale locks removed on the way. */
  readonly onStale?: (h: LockHolder) => void;
}

/** How the archive's files compare with the live data. */
export interface RestoreChanges {
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  readonly unchanged: number;
}

/** What a restore did (or, with `dryRun`, would do). */
export interface RestoreResult {
  readonly archive: string;
  readonly dryRun: boolean;
  readonly fileCount: number;
  readonly totalBytes: number;
  readonly archiveCreatedAt: string;
  readonly changes: RestoreChanges;
  /** The archive of the data the restore replaced (not on a dry run). */
  readonly preRestore?: BackupResult;
  /** Service instances holding the data folder: ignored with `force`, or (dry run) why a restore would refuse. */
  readonly holders: readonly string[];
  readonly sync?: 'syncfs' | 'fsync';
  readonly durationMs: number;
}

function compare(live: Map<string, string>, incoming: Manifest): RestoreChanges {
  let added = 0;
  let changed = 0;
  let unchanged = 0;
  const left = new Set(live.keys());
  for (const f of incoming.files) {
    const hash = live.get(f.path);
    if (hash === undefined) added++;
    else if (hash === f.sha256) unchanged++;
    else changed++;
    left.delete(f.path);
  }
  return { added, changed, unchanged, removed: left.size };
}

async function liveHashes(dataDir: string): Promise<Map<string, string>> {
  const live = new Map<string, string>();
  for (const e of await walkDataTree(dataPaths(dataDir).root)) {
    if (e.kind !== 'file') continue;
    const content = await readFile(e.absolute).catch(() => undefined);
    if (content) live.set(e.path, createHash('sha256').update(content).digest('hex'));
  }
  return live;
}

function lockedMessage(root: string, holders: LockHolder[]): string {
  return (
    `refusing to restore: a service instance holds the data folder ${root} ` +
    `(${holders.map(describeHolder).join('; ')}). Stop it first (docker-compose stop backend, or ` +
    'sudo systemctl stop real-estate-ai) and run the restore again, or pass --force to restore under a running service'
  );
}

/**
 * Restores an archive into `DATA_DIR`:
 * 1. takes the restore lock and refuses while a service instance holds the data folder (unless `force`);
 * 2. reads the archive once, verifying it completely (see {@link verifyArchive}) while extracting it
 *    into a staging folder inside `DATA_DIR`; any unsafe entry or mismatch stops it there;
 * 3. makes the staged files durable, saves the live data as `backup_pre_restore_<time>.tar.gz`;
 * 4. swaps the staged `reports/` and `memories/` in with renames (rolled back on any error, and by
 *    the next start or restore after a crash).
 * Until step 4 the live data is never touched; on any failure it is exactly as before.
 */
export async function restoreBackup(o: RestoreOptions): Promise<RestoreResult> {
  const t0 = performance.now();
  const root = dataPaths(o.dataDir).root;
  await checkArchiveFile(o.archive);
  if (o.dryRun) {
    const verified = await verifyArchive(o.archive, o.limits);
    const holders = await serviceHolders(root, o.onStale);
    return {
      archive: o.archive,
      dryRun: true,
      fileCount: verified.fileCount,
      totalBytes: verified.totalBytes,
      archiveCreatedAt: verified.manifest.created_at,
      changes: compare(await liveHashes(root), verified.manifest),
      holders: holders.map(describeHolder),
      durationMs: Math.round(performance.now() - t0),
    };
  }
  const restoreLock = await acquireRestoreLock(root, { version: o.appVersion, onStale: o.onStale });
  try {
    const holders = await serviceHolders(root, o.onStale);
    if (holders.length > 0 && !o.force) throw new AppError('data_locked', lockedMessage(root, holders));
    await recoverInterruptedRestores(root);
    const staging = await createStaging(root);
    try {
      const writer = new StagingWriter(staging.newDir);
      let verified: Awaited<ReturnType<typeof verifyArchive>>;
      let sync: 'syncfs' | 'fsync';
      try {
        verified = await verifyArchive(o.archive, o.limits, writer);
        await writer.finish();
        sync = await writer.sync();
      } finally {
        await writer.close();
      }
      // Nothing is pruned until the swap succeeded: a failed restore changes no archive either.
      const made = await createBackup({
        kind: 'pre_restore',
        dataDir: root,
        backupDir: o.backupDir,
        keep: Number.MAX_SAFE_INTEGER,
        appVersion: o.appVersion,
        gzipLevel: o.gzipLevel,
      });
      const changes = compare(new Map(made.manifest.files.map((f) => [f.path, f.sha256])), verified.manifest);
      await swapIn(root, staging);
      // Retention is housekeeping: the restore is done, a failure here must not say otherwise.
      const removed = await applyRetention(o.backupDir, 'pre_restore', o.keep).catch(() => []);
      const preRestore = { ...made, removed };
      return {
        archive: o.archive,
        dryRun: false,
        fileCount: verified.fileCount,
        totalBytes: verified.totalBytes,
        archiveCreatedAt: verified.manifest.created_at,
        changes,
        preRestore,
        holders: holders.map(describeHolder),
        sync,
        durationMs: Math.round(performance.now() - t0),
      };
    } finally {
      // A swap left half-done (its rollback failed) keeps its staging folder for recovery. A
      // leftover is cleaned up by the next restore or service start, so a failed removal must not
      // turn a finished restore into a reported failure.
      await discardStaging(staging).catch(() => undefined);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('backup_failed', `restore failed, live data unchanged: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    await restoreLock.release();
  }
}
