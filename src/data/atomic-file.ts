import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Error codes of platforms or file systems that cannot fsync a directory: nothing more to do there. */
const DIR_FSYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'ENOTSUP', 'EACCES']);

/** Flushes a directory's entries (a created, renamed or removed name) to disk. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!DIR_FSYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle?.close();
  }
}

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** Folder for the temporary file; it must be on the same file system as the target. Default: the target's. */
  readonly tmpDir?: string;
  /** File mode of the new file. Default 0o600: stored data is personal. */
  readonly mode?: number;
}

/** A temporary file name that cannot collide with a live file name or another writer's temporary. */
export function tempNameFor(target: string): string {
  return `.${basename(target).slice(0, 100)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/**
 * Replaces `target` atomically: writes a temporary file, fsyncs it, renames it over the target and
 * fsyncs the target's folder. A crash at any moment leaves the old content or the new, never a mix.
 * Missing folders are created.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(target);
  const tmp = join(options.tmpDir ?? dir, tempNameFor(target));
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    try {
      handle = await open(tmp, 'wx', options.mode ?? 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(tmp), { recursive: true, mode: 0o700 });
      handle = await open(tmp, 'wx', options.mode ?? 0o600);
    }
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await renameIntoPlace(tmp, target);
    await fsyncDirectory(dir);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/**
 * Renames `tmp` to `target`. When the target's folder is missing it waits briefly for it (a
 * restore swaps folders with two renames) and then creates it.
 */
async function renameIntoPlace(tmp: string, target: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(tmp, target);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 10) throw err;
      if (attempt < 9) await sleep(20);
      else await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    }
  }
}

/** Removes a file and fsyncs its folder; false when it did not exist. */
export async function removeFileDurably(path: string): Promise<boolean> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  await fsyncDirectory(dirname(path));
  return true;
}
