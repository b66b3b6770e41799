import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, fstatSync, openSync } from 'node:fs';
import { mkdir, open, unlink } from 'node:fs/promises';
import { AppError } from '../core/errors.js';
import { dataPaths } from '../data/layout.js';
import {
  type ArchiveKind,
  applyRetention,
  publishArchive,
  removeStaleTemporaries,
  temporaryArchivePath,
} from './archive-files.js';
import { MANIFEST_NAME, shown } from './entry-path.js';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, type Manifest, type ManifestFile } from './manifest.js';
import { ParallelGzip } from './parallel-gzip.js';
import { TarWriter } from './tar-writer.js';
import { type TreeEntry, walkDataTree } from './tree-walk.js';

/** Options for {@link createBackup}. */
export interface CreateBackupOptions {
  readonly dataDir: string;
  readonly backupDir: string;
  /** Archives of this kind to keep (older ones are removed after a successful backup). */
  readonly keep: number;
  readonly appVersion: string;
  /** gzip level 1-9; default 6. */
  readonly gzipLevel?: number;
  /** Refuse to archive a file bigger than this (a restore would refuse it). */
  readonly maxFileBytes?: number;
  readonly maxTotalBytes?: number;
  /** `backup` (default) or `pre_restore`. */
  readonly kind?: ArchiveKind;
  readonly now?: () => Date;
}

/** A finished backup. */
export interface BackupResult {
  readonly path: string;
  /** The data folder that was archived (absolute). */
  readonly dataDir: string;
  readonly name: string;
  readonly sizeBytes: number;
  /** SHA-256 of the archive file itself. */
  readonly sha256: string;
  readonly fileCount: number;
  /** Sum of the archived files' sizes. */
  readonly totalBytes: number;
  readonly directoryCount: number;
  readonly createdAt: string;
  readonly durationMs: number;
  /** Archives removed by retention. */
  readonly removed: readonly string[];
  /** The manifest written into the archive. */
  readonly manifest: Manifest;
}

/**
 * Opens a file for archiving, never following a symlink; undefined when it vanished meanwhile.
 * Reads are synchronous: one small file costs a few system calls, far less than thread-pool
 * round trips, and the event loop is never held for more than one file's read at a time.
 */
function openForArchive(
  entry: TreeEntry,
  maxFileBytes: number,
): { fd: number; size: number; mtime: Date } | undefined {
  let fd: number;
  try {
    fd = openSync(entry.absolute, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') {
      throw new AppError('backup_failed', `cannot back up ${shown(entry.path)}: it became a symbolic link`);
    }
    throw err;
  }
  try {
    // Stat the open file, not the path: files are replaced by rename, so this content is stable.
    const info = fstatSync(fd);
    if (!info.isFile())
      throw new AppError('backup_failed', `cannot back up ${shown(entry.path)}: not a regular file`);
    if (info.size > maxFileBytes) {
      throw new AppError(
        'backup_failed',
        `cannot back up ${shown(entry.path)}: ${info.size} bytes is over BACKUP_MAX_FILE_BYTES (${maxFileBytes}); a restore would refuse it`,
      );
    }
    return { fd, size: info.size, mtime: info.mtime };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Writes `BACKUP_DIR/backup_YYYYMMDD_HHMMSS.tar.gz`: every folder and file of `reports/` and
 * `memories/`, then `manifest.json` with each file's size and SHA-256 (hashed as it is archived, so
 * the manifest describes exactly the bytes in the archive). Safe while the service runs: files are
 * replaced by rename, and an opened file's content never changes. The archive is written under a
 * temporary name, fsynced and renamed when complete; then retention keeps the newest `keep`.
 */
export async function createBackup(o: CreateBackupOptions): Promise<BackupResult> {
  const started = o.now?.() ?? new Date();
  const t0 = performance.now();
  const kind = o.kind ?? 'backup';
  const maxFileBytes = o.maxFileBytes ?? Number.MAX_SAFE_INTEGER;
  const maxTotalBytes = o.maxTotalBytes ?? Number.MAX_SAFE_INTEGER;
  const root = dataPaths(o.dataDir).root;
  let entries: TreeEntry[];
  let out: Awaited<ReturnType<typeof open>>;
  const tmp = temporaryArchivePath(o.backupDir, kind, started);
  try {
    await mkdir(o.backupDir, { recursive: true, mode: 0o750 });
    await removeStaleTemporaries(o.backupDir);
    entries = await walkDataTree(root);
    out = await open(tmp, 'wx', 0o640);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('backup_failed', `backup failed: ${(err as Error).message}`, { cause: err });
  }
  const archiveHash = createHash('sha256');
  let archiveBytes = 0;
  const gzip = new ParallelGzip(
    async (chunk) => {
      archiveHash.update(chunk);
      archiveBytes += chunk.length;
      let off = 0;
      while (off < chunk.length) off += (await out.write(chunk, off, chunk.length - off)).bytesWritten;
    },
    { level: o.gzipLevel ?? 6 },
  );
  const files: ManifestFile[] = [];
  let manifest: Manifest | undefined;
  const directories: string[] = [];
  let totalBytes = 0;
  try {
    const tar = new TarWriter(gzip);
    for (const e of entries) {
      if (e.kind === 'directory') {
        await tar.directory(e.path, started);
        directories.push(e.path);
        continue;
      }
      const opened = openForArchive(e, maxFileBytes);
      if (!opened) continue;
      try {
        totalBytes += opened.size;
        if (totalBytes > maxTotalBytes) {
          throw new AppError(
            'backup_failed',
            `the data adds up to more than BACKUP_MAX_TOTAL_BYTES (${maxTotalBytes})`,
          );
        }
        const hash = createHash('sha256');
        if (!(await tar.fileFromDescriptor(e.path, opened.fd, opened.size, opened.mtime, hash))) {
          throw new AppError(
            'backup_failed',
            `${shown(e.path)} shrank while being read (written in place?); try again`,
          );
        }
        files.push({ path: e.path, size: opened.size, sha256: hash.digest('hex') });
      } finally {
        closeSync(opened.fd);
      }
    }
    manifest = {
      format: BACKUP_FORMAT,
      format_version: BACKUP_FORMAT_VERSION,
      created_at: started.toISOString(),
      app_version: o.appVersion,
      file_count: files.length,
      total_bytes: totalBytes,
      directories,
      files,
    };
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 1)}\n`);
    await tar.fileHeader(MANIFEST_NAME, manifestBytes.length, started);
    await tar.data(manifestBytes);
    await tar.endFile(manifestBytes.length);
    await tar.finish();
    await gzip.end();
    await out.sync();
    await out.close();
  } catch (err) {
    await out.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    if (err instanceof AppError) throw err;
    throw new AppError('backup_failed', `backup failed: ${(err as Error).message}`, { cause: err });
  }
  let path: string;
  try {
    path = await publishArchive(tmp, o.backupDir, kind, started);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new AppError('backup_failed', `could not name the archive: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const removed = await applyRetention(o.backupDir, kind, o.keep);
  return {
    path,
    dataDir: root,
    name: path.slice(path.lastIndexOf('/') + 1),
    sizeBytes: archiveBytes,
    sha256: archiveHash.digest('hex'),
    fileCount: files.length,
    totalBytes,
    directoryCount: directories.length,
    createdAt: started.toISOString(),
    durationMs: Math.round(performance.now() - t0),
    removed,
    manifest,
  };
}
