import { link, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fsyncDirectory } from '../data/atomic-file.js';
import { listFolder } from '../data/list-folder.js';
import { utcStamp } from '../data/safe-names.js';

/**
 * Archive files in `BACKUP_DIR`: `backup_YYYYMMDD_HHMMSS.tar.gz` (UTC) made by `npm run backup`,
 * and `backup_pre_restore_YYYYMMDD_HHMMSS.tar.gz`, the data a restore replaced. Only names of
 * exactly this shape are ever listed or removed.
 */

/** The two kinds of archive, by name prefix. */
export type ArchiveKind = 'backup' | 'pre_restore';

const PREFIX: Record<ArchiveKind, string> = { backup: 'backup_', pre_restore: 'backup_pre_restore_' };
const NAME = /^backup_(pre_restore_)?(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})\.tar\.gz$/;

/** An archive found in the backup folder. */
export interface ArchiveInfo {
  readonly name: string;
  readonly path: string;
  readonly kind: ArchiveKind;
  /** ISO 8601 time from the name. */
  readonly createdAt: string;
  readonly sizeBytes: number;
}

/** The archive file name for a kind and a time (whole seconds, UTC). */
export function archiveName(kind: ArchiveKind, at: Date): string {
  return `${PREFIX[kind]}${utcStamp(at, '_')}.tar.gz`;
}

/** Kind and time of an archive name; undefined for any other name. */
export function parseArchiveName(name: string): { kind: ArchiveKind; createdAt: Date } | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [, pre, y, mo, d, h, mi, s] = m;
  const createdAt = new Date(
    Date.UTC(
      +(y as string),
      +(mo as string) - 1,
      +(d as string),
      +(h as string),
      +(mi as string),
      +(s as string),
    ),
  );
  if (Number.isNaN(createdAt.getTime())) return undefined;
  return { kind: pre ? 'pre_restore' : 'backup', createdAt };
}

/** Archives in `backupDir`, newest first (an absent folder holds none). */
export async function listArchives(backupDir: string): Promise<ArchiveInfo[]> {
  const dir = resolve(backupDir);
  const names = await listFolder(dir);
  const out: ArchiveInfo[] = [];
  for (const name of names) {
    const parsed = parseArchiveName(name);
    if (!parsed) continue;
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (!info?.isFile()) continue;
    out.push({
      name,
      path: join(dir, name),
      kind: parsed.kind,
      createdAt: parsed.createdAt.toISOString(),
      sizeBytes: info.size,
    });
  }
  return out.sort((a, b) => (a.createdAt === b.createdAt ? 0 : a.createdAt < b.createdAt ? 1 : -1));
}

/**
 * Gives the finished temporary file its final name without ever replacing an archive: the name of
 * `at`, or of the next free second when that one is taken. Returns the final path.
 */
export async function publishArchive(
  tmp: string,
  backupDir: string,
  kind: ArchiveKind,
  at: Date,
): Promise<string> {
  const base = Math.floor(at.getTime() / 1000) * 1000;
  for (let i = 0; i < 3600; i++) {
    const target = join(resolve(backupDir), archiveName(kind, new Date(base + i * 1000)));
    try {
      // link() fails with EEXIST instead of replacing: no archive is ever overwritten.
      await link(tmp, target);
      await unlink(tmp);
      await fsyncDirectory(backupDir);
      return target;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
      // File systems without hard links: check, then rename.
      if (
        await stat(target).then(
          () => true,
          () => false,
        )
      )
        continue;
      await rename(tmp, target);
      await fsyncDirectory(backupDir);
      return target;
    }
  }
  throw new Error(`no free archive name near ${archiveName(kind, at)}`);
}

/**
 * Keeps the newest `keep` archives of `kind` and removes older ones; returns the removed names.
 */
export async function applyRetention(backupDir: string, kind: ArchiveKind, keep: number): Promise<string[]> {
  if (!(Number.isInteger(keep) && keep >= 1)) throw new RangeError('keep must be a whole number >= 1');
  const old = (await listArchives(backupDir)).filter((a) => a.kind === kind).slice(keep);
  for (const a of old) await unlink(a.path).catch(() => undefined);
  if (old.length > 0) await fsyncDirectory(backupDir);
  return old.map((a) => a.name);
}

/** Removes temporary files of interrupted backups (older than `maxAgeMs`) from the backup folder. */
export async function removeStaleTemporaries(backupDir: string, maxAgeMs = 24 * 3600_000): Promise<void> {
  const names = await readdir(backupDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!/^\.backup_.*\.tmp$/.test(name)) continue;
    const file = join(backupDir, name);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile() && Date.now() - info.mtimeMs > maxAgeMs) await unlink(file).catch(() => undefined);
  }
}

/** The temporary name an archive is written under until it is complete. */
export function temporaryArchivePath(backupDir: string, kind: ArchiveKind, at: Date): string {
  const rand = Math.random().toString(16).slice(2, 10);
  return join(
    resolve(backupDir),
    `.${basename(archiveName(kind, at), '.tar.gz')}.${process.pid}.${rand}.tmp`,
  );
}
