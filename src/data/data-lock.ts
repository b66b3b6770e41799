import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readlink, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../core/errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { dataPaths } from './layout.js';
import { listFolder } from './list-folder.js';

/**
 * Lock files in `DATA_DIR/.locks/`: every running service instance holds its own
 * `service-<host>-<pid>-<random>.json` (several instances may share a data folder), and a restore
 * holds the single `restore.json`. A restore refuses while any service lock is live; a service
 * refuses to start while a restore lock is live. A lock whose process is gone (same host, same PID
 * namespace; checked by PID and process start time, so a reused PID is not mistaken for it) is stale
 * and removed. A lock from another host or container cannot be checked and counts as live.
 */

/** Who holds a lock. Written as the lock file's JSON. */
export interface LockOwner {
  readonly kind: 'service' | 'restore';
  readonly pid: number;
  readonly hostname: string;
  readonly boot_id?: string;
  readonly pid_ns?: string;
  /** The process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  readonly pid_start?: string;
  readonly started_at: string;
  readonly version: string;
}

/** `alive`: the holder runs; `dead`: it is gone; `unknown`: another host or container, or unreadable. */
export type Liveness = 'alive' | 'dead' | 'unknown';

/** A lock file found on disk. */
export interface LockHolder {
  readonly file: string;
  readonly owner: LockOwner | undefined;
  readonly liveness: Liveness;
}

/** A lock this process holds. */
export interface DataFolderLock {
  readonly file: string;
  readonly owner: LockOwner;
  /** Removes the lock file (idempotent). */
  release(): Promise<void>;
}

const RESTORE_LOCK = 'restore.json';
/** An unreadable lock file younger than this may still be being written; older, it is stale. */
const UNREADABLE_GRACE_MS = 60_000;

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Field 22 of `/proc/<pid>/stat` (start time), or undefined where /proc is not available. */
async function processStart(pid: number): Promise<string | undefined> {
  const stat = await readOptional(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Fields after the command name, which is in parentheses and may itself hold spaces or ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19];
}

let identity: Promise<Omit<LockOwner, 'kind' | 'started_at' | 'version'>> | undefined;

/** This process's identity as written into its lock files. */
function selfIdentity() {
  identity ??= (async () => ({
    pid: process.pid,
    hostname: hostname(),
    boot_id: await readOptional('/proc/sys/kernel/random/boot_id'),
    pid_ns: await readlink('/proc/self/ns/pid').catch(() => undefined),
    pid_start: await processStart(process.pid),
  }))();
  return identity;
}

/** Whether the process that wrote `owner` still runs, as far as this process can tell. */
export async function livenessOf(owner: LockOwner): Promise<Liveness> {
  const me = await selfIdentity();
  if (owner.hostname !== me.hostname) return 'unknown';
  if (owner.boot_id && me.boot_id && owner.boot_id !== me.boot_id) return 'dead';
  if ((owner.pid_ns ?? '') !== (me.pid_ns ?? '')) return 'unknown';
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return 'dead';
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
  }
  if (owner.pid_start) {
    const now = await processStart(owner.pid);
    if (now !== undefined && now !== owner.pid_start) return 'dead';
  }
  return 'alive';
}

async function inspect(file: string): Promise<LockHolder | undefined> {
  let text: string;
  let age: number;
  try {
    const [content, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    text = content;
    age = Date.now() - info.mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let owner: LockOwner | undefined;
  try {
    owner = JSON.parse(text) as LockOwner;
    if (typeof owner !== 'object' || owner === null || typeof owner.pid !== 'number') owner = undefined;
  } catch {
    owner = undefined;
  }
  if (!owner) return { file, owner, liveness: age > UNREADABLE_GRACE_MS ? 'dead' : 'unknown' };
  return { file, owner, liveness: await livenessOf(owner) };
}

/**
 * Lock files of one kind that are (or may be) held; stale ones are removed on the way and passed
 * to `onStale`.
 */
async function holders(dataDir: string, match: (name: string) => boolean, onStale?: (h: LockHolder) => void) {
  const dir = dataPaths(dataDir).locks;
  const names = await listFolder(dir);
  const live: LockHolder[] = [];
  for (const name of names.filter(match).sort()) {
    const h = await inspect(join(dir, name));
    if (!h) continue;
    if (h.liveness === 'dead') {
      // Remove it only if it is still the file we judged (another process may have replaced it).
      const again = await inspect(h.file);
      if (again && JSON.stringify(again.owner) === JSON.stringify(h.owner)) {
        await unlink(h.file).catch(() => undefined);
        onStale?.(h);
      }
    } else live.push(h);
  }
  return live;
}

/** Running (or uncheckable) service instances holding the data folder. */
export function serviceHolders(dataDir: string, onStale?: (h: LockHolder) => void): Promise<LockHolder[]> {
  return holders(dataDir, (n) => n.startsWith('service-') && n.endsWith('.json'), onStale);
}

/** The restore holding the data folder, if one runs. */
export async function restoreHolder(
  dataDir: string,
  onStale?: (h: LockHolder) => void,
): Promise<LockHolder | undefined> {
  return (await holders(dataDir, (n) => n === RESTORE_LOCK, onStale))[0];
}

/** One line naming a lock holder for messages: pid, host and since when. */
export function describeHolder(h: LockHolder): string {
  const o = h.owner;
  if (!o) return `an unreadable lock file (${h.file})`;
  const where = h.liveness === 'unknown' ? ` on host ${o.hostname} (cannot be checked from here)` : '';
  return `${o.kind} pid ${o.pid}${where}, since ${o.started_at}`;
}

async function ownerOf(kind: LockOwner['kind'], version: string): Promise<LockOwner> {
  return { kind, ...(await selfIdentity()), started_at: new Date().toISOString(), version };
}

function handle(file: string, owner: LockOwner): DataFolderLock {
  let released = false;
  return {
    file,
    owner,
    async release() {
      if (released) return;
      released = true;
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
  };
}

/** Options of the lock functions. */
export interface LockOptions {
  /** The app version written into the lock. */
  readonly version: string;
  /** Told about every stale lock removed on the way. */
  readonly onStale?: (h: LockHolder) => void;
}

/**
 * Takes a service instance's lock on the data folder. Refuses (`data_locked`) while a restore runs.
 */
export async function acquireServiceLock(dataDir: string, options: LockOptions): Promise<DataFolderLock> {
  const paths = dataPaths(dataDir);
  await mkdir(paths.locks, { recursive: true, mode: 0o700 });
  const refuseIfRestoring = async () => {
    const r = await restoreHolder(dataDir, options.onStale);
    if (r)
      throw new AppError(
        'data_locked',
        `a restore is in progress on ${paths.root} (${describeHolder(r)}); start the service after it finishes`,
      );
  };
  await refuseIfRestoring();
  const owner = await ownerOf('service', options.version);
  const safeHost = owner.hostname.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  const file = join(paths.locks, `service-${safeHost}-${owner.pid}-${randomBytes(4).toString('hex')}.json`);
  await writeFileAtomic(file, JSON.stringify(owner), { mode: 0o644 });
  const lock = handle(file, owner);
  // A restore may have started between the check and our write: check again now that we are visible.
  try {
    await refuseIfRestoring();
  } catch (err) {
    await lock.release();
    throw err;
  }
  return lock;
}

/** Takes the exclusive restore lock. Refuses (`data_locked`) while another restore runs. */
export async function acquireRestoreLock(dataDir: string, options: LockOptions): Promise<DataFolderLock> {
  const paths = dataPaths(dataDir);
  await mkdir(paths.locks, { recursive: true, mode: 0o700 });
  const owner = await ownerOf('restore', options.version);
  const file = join(paths.locks, RESTORE_LOCK);
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await restoreHolder(dataDir, options.onStale);
    if (existing)
      throw new AppError(
        'data_locked',
        `another restore is running on ${paths.root} (${describeHolder(existing)})`,
      );
    // O_EXCL: exactly one process creates it. Until its content lands, others read it as 'unknown' (held).
    try {
      await writeFile(file, JSON.stringify(owner), { mode: 0o644, flag: 'wx' });
      return handle(file, owner);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new AppError('data_locked', `could not take the restore lock on ${paths.root}; try again`);
}
