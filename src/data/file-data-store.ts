import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../core/errors.js';
import type { Logger } from '../logging/logger.js';
import type { RedisConnection } from '../redis/connection.js';
import { removeFileDurably, writeFileAtomic } from './atomic-file.js';
import { acquireRestoreLock, acquireServiceLock, type DataFolderLock, describeHolder } from './data-lock.js';
import type {
  ListReportsOptions,
  ManagedDataStore,
  MemoryData,
  MemoryRecord,
  MemoryUpdate,
  NewReport,
  Report,
  ReportSummary,
} from './data-store.js';
import { recoverInterruptedRestores } from './folder-swap.js';
import { type DataPaths, dataPaths, STAGING_PREFIX } from './layout.js';
import { listFolder } from './list-folder.js';
import { MemoryCopies } from './memory-copies.js';
import { type HeldLock, KeyedMutex, RedisLock } from './record-lock.js';
import { parseReportHead, renderReport } from './report-format.js';
import { assertTitle, assertUserId, isReportId, newReportId, userFileName } from './safe-names.js';

/** Options for {@link FileDataStore}. */
export interface FileDataStoreOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /**
   * When given, memory updates are also serialised across instances through a Redis lock, and
   * memory reads use copies that Redis confirms are current (see {@link MemoryCopies}).
   */
  readonly connection?: RedisConnection;
  /** Longest life of such a copy; default 30 s. */
  readonly memoryCopySeconds?: number;
  /** App version, written into the data folder lock. */
  readonly version?: string;
  /** Largest memory document (serialised JSON). Default 1 MiB. */
  readonly maxMemoryBytes?: number;
  /** Largest report body. Default 4 MiB. */
  readonly maxReportBytes?: number;
  /** Redis lock expiry and longest wait for it; defaults 30 s and 10 s. */
  readonly lockTtlMs?: number;
  readonly lockWaitMs?: number;
}

const MEMORY_FORMAT = 1;
const TEMP_MAX_AGE_MS = 60 * 60 * 1000;
const HEAD_BYTES = 8192;

interface StoredMemory {
  format: number;
  user_id: string;
  revision: number;
  updated_at: string;
  data: MemoryData;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype
  );
}

/**
 * The {@link DataStore} on the local file system: `memories/<user>.json` and `reports/<id>.md`
 * under `DATA_DIR`, every write atomic. `open()` prepares the folder, takes the service's lock on
 * it (so a restore refuses while it runs) and finishes any restore a crash interrupted.
 */
export class FileDataStore implements ManagedDataStore {
  readonly paths: DataPaths;
  private readonly options: FileDataStoreOptions;
  private readonly mutex = new KeyedMutex();
  private readonly redisLock: RedisLock | undefined;
  private readonly copies: MemoryCopies | undefined;
  private readonly maxMemoryBytes: number;
  private readonly maxReportBytes: number;
  private lock: DataFolderLock | undefined;

  constructor(options: FileDataStoreOptions) {
    if (!options.dataDir) throw new RangeError('dataDir is required');
    this.options = options;
    this.paths = dataPaths(options.dataDir);
    this.maxMemoryBytes = options.maxMemoryBytes ?? 1024 * 1024;
    this.maxReportBytes = options.maxReportBytes ?? 4 * 1024 * 1024;
    this.redisLock = options.connection
      ? new RedisLock({
          connection: options.connection,
          ttlMs: options.lockTtlMs,
          waitMs: options.lockWaitMs,
        })
      : undefined;
    this.copies = options.connection
      ? new MemoryCopies(options.connection, options.memoryCopySeconds)
      : undefined;
  }

  /** Prepares the data folder and takes this instance's lock on it. Idempotent. */
  async open(): Promise<void> {
    if (this.lock) return;
    const p = this.paths;
    const log = this.options.logger.child({ component: 'data' });
    for (const d of [p.root, p.reports, p.memories, p.tmp, p.locks])
      await mkdir(d, { recursive: true, mode: 0o700 });
    const onStale = (h: Parameters<typeof describeHolder>[0]) =>
      log.info({ lock: h.file }, `removed a stale data folder lock (${describeHolder(h)}: process gone)`);
    const version = this.options.version ?? 'unknown';
    this.lock = await acquireServiceLock(p.root, { version, onStale });
    if ((await readdir(p.root)).some((n) => n.startsWith(STAGING_PREFIX))) {
      const restoreLock = await acquireRestoreLock(p.root, { version, onStale });
      try {
        for (const r of await recoverInterruptedRestores(p.root))
          log.warn({ staging: r.dir, action: r.action }, 'finished a restore that was interrupted');
      } finally {
        await restoreLock.release();
      }
    }
    await this.removeOldTemporaries();
    log.info({ data_dir: p.root }, 'data folder ready');
  }

  /** Releases this instance's lock on the data folder. */
  async close(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  private async removeOldTemporaries(): Promise<void> {
    for (const name of await readdir(this.paths.tmp).catch(() => [] as string[])) {
      const file = join(this.paths.tmp, name);
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile() && Date.now() - info.mtimeMs > TEMP_MAX_AGE_MS)
        await unlink(file).catch(() => undefined);
    }
  }

  private memoryFile(userId: string): { name: string; file: string } {
    const name = userFileName(userId);
    return { name, file: join(this.paths.memories, `${name}.json`) };
  }

  async readMemory(userId: string): Promise<MemoryRecord | undefined> {
    if (!this.copies) return this.readMemoryFile(userId);
    return this.copies.read(this.memoryFile(userId).name, () => this.readMemoryFile(userId));
  }

  /** The user's memory file as it is now. */
  private async readMemoryFile(userId: string): Promise<MemoryRecord | undefined> {
    const { name, file } = this.memoryFile(userId);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let stored: StoredMemory;
    try {
      stored = JSON.parse(text) as StoredMemory;
    } catch {
      throw new AppError('data_corrupt', `memory file memories/${name}.json is not valid JSON`);
    }
    if (
      !isPlainObject(stored) ||
      stored.user_id !== userId ||
      !Number.isInteger(stored.revision) ||
      !isPlainObject(stored.data)
    ) {
      throw new AppError(
        'data_corrupt',
        `memory file memories/${name}.json does not hold this user's memory`,
      );
    }
    return { userId, revision: stored.revision, updatedAt: stored.updated_at, data: stored.data };
  }

  /** Runs `task` holding the user's in-process mutex and, when Redis is up, the cross-instance lock. */
  private async exclusive<T>(name: string, task: (lock: HeldLock | undefined) => Promise<T>): Promise<T> {
    return this.mutex.run(name, async () => {
      const lock = this.redisLock ? await this.redisLock.acquire(`memory:${name}`) : undefined;
      try {
        return await task(lock);
      } finally {
        await lock?.release();
      }
    });
  }

  async updateMemory(userId: string, update: MemoryUpdate): Promise<MemoryRecord> {
    const { name, file } = this.memoryFile(userId);
    return this.exclusive(name, async (lock) => {
      const current = await this.readMemoryFile(userId);
      const data = await update(current ? structuredClone(current.data) : undefined);
      if (!isPlainObject(data)) throw new AppError('data_invalid', 'a memory must be a plain JSON object');
      const record: StoredMemory = {
        format: MEMORY_FORMAT,
        user_id: userId,
        revision: (current?.revision ?? 0) + 1,
        updated_at: new Date().toISOString(),
        data,
      };
      const text = JSON.stringify(record);
      if (Buffer.byteLength(text) > this.maxMemoryBytes) {
        throw new AppError('data_invalid', `a memory may hold at most ${this.maxMemoryBytes} bytes of JSON`);
      }
      lock?.assertHeld();
      try {
        await writeFileAtomic(file, text, { tmpDir: this.paths.tmp });
      } catch (err) {
        await this.copies?.changed(name); // the file may or may not have been replaced
        throw err;
      }
      const saved = {
        userId,
        revision: record.revision,
        updatedAt: record.updated_at,
        data: JSON.parse(text).data,
      };
      await this.copies?.changed(name, saved);
      return saved;
    });
  }

  async deleteMemory(userId: string): Promise<boolean> {
    const { name, file } = this.memoryFile(userId);
    return this.exclusive(name, async () => {
      try {
        return await removeFileDurably(file);
      } finally {
        await this.copies?.changed(name);
      }
    });
  }

  async writeReport(report: NewReport): Promise<ReportSummary> {
    assertTitle(report.title);
    assertUserId(report.author);
    if (typeof report.body !== 'string' || Buffer.byteLength(report.body) > this.maxReportBytes) {
      throw new AppError(
        'data_invalid',
        `a report body must be text of at most ${this.maxReportBytes} bytes`,
      );
    }
    const created = report.createdAt ?? new Date();
    if (Number.isNaN(created.getTime())) throw new AppError('data_invalid', 'createdAt is not a valid date');
    const id = newReportId(report.title, created);
    const text = renderReport({
      id,
      title: report.title,
      author: report.author,
      createdAt: created.toISOString(),
      body: report.body,
    });
    await writeFileAtomic(join(this.paths.reports, `${id}.md`), text, { tmpDir: this.paths.tmp });
    return {
      id,
      title: report.title,
      author: report.author,
      createdAt: created.toISOString(),
      sizeBytes: Buffer.byteLength(text),
    };
  }

  async getReport(id: string): Promise<Report | undefined> {
    if (!isReportId(id)) return undefined;
    let text: string;
    try {
      text = await readFile(join(this.paths.reports, `${id}.md`), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const head = parseReportHead(text);
    if (!head) throw new AppError('data_corrupt', `report ${id} has no valid front matter`);
    const f = head.fields;
    return {
      id,
      title: f.title,
      author: f.author,
      createdAt: f.created_at,
      sizeBytes: Buffer.byteLength(text),
      body: text.slice(head.bodyStart),
    };
  }

  async listReports(options: ListReportsOptions = {}): Promise<ReportSummary[]> {
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? 50), 1), 1000);
    if (options.author !== undefined) assertUserId(options.author);
    const names = await listFolder(this.paths.reports);
    const ids = names
      .filter((n) => n.endsWith('.md') && isReportId(n.slice(0, -3)))
      .map((n) => n.slice(0, -3))
      .sort()
      .reverse();
    const out: ReportSummary[] = [];
    for (const id of ids) {
      if (out.length >= limit) break;
      const summary = await this.readSummary(id);
      if (summary && (options.author === undefined || summary.author === options.author)) out.push(summary);
    }
    return out;
  }

  /** A report's front matter from its first bytes; undefined when it vanished or is malformed. */
  private async readSummary(id: string): Promise<ReportSummary | undefined> {
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      handle = await open(join(this.paths.reports, `${id}.md`), 'r');
      const size = (await handle.stat()).size;
      const buf = Buffer.alloc(Math.min(size, HEAD_BYTES));
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      const head = parseReportHead(buf.subarray(0, bytesRead).toString('utf8'));
      if (!head) {
        this.options.logger.warn({ report: id }, 'report without valid front matter skipped in listing');
        return undefined;
      }
      const f = head.fields;
      return { id, title: f.title, author: f.author, createdAt: f.created_at, sizeBytes: size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    } finally {
      await handle?.close();
    }
  }
}
