import { open } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { AppError } from '../core/errors.js';
import { fsyncDirectory } from '../data/atomic-file.js';
import { FileSystemSync } from './file-system-sync.js';
import type { EntryHandler, FileSink } from './tar-reader.js';
import { walkDataTree } from './tree-walk.js';
import { type WriteOps, WriterThread } from './writer-thread.js';

/** Data bytes per batch handed to the writer thread. */
const BATCH_BYTES = 2 * 1024 * 1024;
/** Entries of a batch's operation list at most (many empty files make batches without data). */
const BATCH_OPS = 4096;
/** Batches the writer thread may have queued before the reader waits. */
const DEPTH = 4;
/** A segment that is empty, `.` or `..`, or a backslash or NUL anywhere. */
const UNSAFE_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)|[\\\0]/;
/**
 * Data bytes between early writeback starts: a `syncfs` started in the background while the
 * extraction goes on, so the disk writes overlap inflation and the final sync has little left.
 */
const WRITEBACK_BYTES = 24 * 1024 * 1024;

/**
 * Writes an archive's folders and files under a staging root while it is being verified. The
 * system calls run on a {@link WriterThread} (GNU tar makes them in its own process while gzip
 * inflates in another): this side checks each path, copies file data into 2 MiB batches and hands
 * them over, so reading, checking and hashing go on meanwhile; {@link ready} holds the reader back
 * while {@link DEPTH} batches wait. Nothing is ever written outside
 * the root (paths are checked again here) and no existing file is overwritten (`wx`). Call
 * {@link finish} after the last entry and {@link close} in any case.
 */
export class StagingWriter implements EntryHandler {
  private readonly root: string;
  private readonly made = new Set<string>();
  private readonly thread = new WriterThread();
  private readonly fileSystem: FileSystemSync;
  private ops: WriteOps = [];
  /** The folder of the last file, whose folders are known to exist. */
  private lastDir = '';
  /** The sink of the file being written (one at a time: the same object for each). */
  private readonly sink: FileSink = {
    write: (chunk) => this.write(chunk),
    end: () => this.endFile(),
  };
  private data = this.thread.buffer(BATCH_BYTES);
  private used = 0;
  /** Data bytes handed to the thread, and at how many of them writeback was last started. */
  private sent = 0;
  private kickedAt = 0;
  private writeback: Promise<unknown> | undefined;

  constructor(root: string) {
    this.root = resolve(root);
    this.made.add(this.root);
    this.fileSystem = new FileSystemSync(this.root);
  }

  /**
   * The absolute path of an archive path under the root. The reader checked it (entry-path.ts);
   * this refuses again anything that could leave the root (absolute, a `.`/`..` or empty segment,
   * a backslash or NUL), which also makes the plain join equal to `path.resolve` without paying
   * for its normalisation on every entry.
   */
  private target(path: string): string {
    if (path.length === 0 || path.charCodeAt(0) === 0x2f || UNSAFE_SEGMENT.test(path)) {
      throw new AppError(
        'backup_invalid',
        `unsafe entry ${JSON.stringify(path)}: outside the staging folder`,
      );
    }
    return `${this.root}${sep}${path}`;
  }

  private ensureDir(abs: string): void {
    if (this.made.has(abs)) return;
    this.ops.push('d', abs);
    for (let d = abs; d.length > this.root.length && !this.made.has(d); d = dirname(d)) {
      this.made.add(d);
    }
  }

  directory(path: string): void {
    this.ensureDir(this.target(path));
  }

  file(path: string): FileSink {
    const abs = this.target(path);
    // Files come folder by folder: the parent is looked up only when it changes.
    const cut = abs.lastIndexOf(sep);
    if (cut !== this.lastDir.length || !abs.startsWith(this.lastDir)) {
      this.lastDir = abs.slice(0, cut);
      this.ensureDir(this.lastDir);
    }
    this.ops.push('f', abs);
    return this.sink;
  }

  private endFile(): void {
    this.ops.push('c');
    if (this.ops.length >= BATCH_OPS) this.send();
  }

  /** Resolves when the writer thread has room for more batches. */
  ready(): Promise<void> | undefined {
    return this.thread.ready(DEPTH);
  }

  private write(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, BATCH_BYTES - this.used);
      chunk.copy(this.data, this.used, off, off + n);
      this.used += n;
      off += n;
      this.ops.push(n);
      if (this.used === BATCH_BYTES) this.send();
    }
  }

  private send(): void {
    const ops = this.ops;
    const data = this.data.buffer as ArrayBuffer;
    this.ops = [];
    this.data = this.thread.buffer(BATCH_BYTES);
    this.sent += this.used;
    this.used = 0;
    this.thread.send(ops, data);
    this.startWriteback();
  }

  /** Starts writing what is on its way to disk every {@link WRITEBACK_BYTES}, one sync at a time. */
  private startWriteback(): void {
    if (this.writeback || this.sent - this.kickedAt < WRITEBACK_BYTES) return;
    this.kickedAt = this.sent;
    // Only a head start: sync() makes the data durable.
    this.writeback = this.fileSystem.sync().finally(() => {
      this.writeback = undefined;
    });
  }

  /** Hands over what is left and waits until all of it is written; throws the first failure. */
  async finish(): Promise<void> {
    if (this.ops.length > 0) this.send();
    await this.thread.flush();
  }

  /** Ends the writer thread (closing a file a failure left open) and the sync helper. Always call it. */
  async close(): Promise<void> {
    await Promise.all([this.thread.close(), this.fileSystem.close()]);
  }

  /**
   * Makes everything written durable before it is swapped in (after {@link finish}, before
   * {@link close}): one `syncfs` of the file system (`sync -f`, coreutils) when available, else an
   * fsync of every file and folder.
   */
  async sync(): Promise<'syncfs' | 'fsync'> {
    await this.writeback;
    if (await this.fileSystem.sync()) return 'syncfs';
    // What was written, found by walking the root: folders come before their contents.
    const tree = await walkDataTree(this.root);
    const queue = tree.filter((e) => e.kind === 'file').map((e) => e.absolute);
    const worker = async () => {
      for (let f = queue.pop(); f !== undefined; f = queue.pop()) {
        const h = await open(f, 'r');
        try {
          await h.sync();
        } finally {
          await h.close();
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const folders = tree.filter((e) => e.kind === 'directory').map((e) => e.absolute);
    for (const d of folders.reverse()) await fsyncDirectory(d);
    await fsyncDirectory(this.root);
    return 'fsync';
  }
}
