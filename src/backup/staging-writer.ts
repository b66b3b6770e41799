import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '../core/errors.js';
import { fsyncDirectory } from '../data/atomic-file.js';
import type { EntryHandler, FileSink } from './tar-reader.js';

/** `syncfs(2)` of the file system holding `path`, through coreutils `sync -f`. */
function syncFileSystem(path: string): Promise<unknown> {
  return promisify(execFile)('sync', ['-f', path], { timeout: 300_000 });
}

/**
 * Writes an archive's folders and files under a staging root while it is being verified.
 * Writes are synchronous system calls, as GNU tar makes them: per file an open, its writes and a
 * close, while the decompressor keeps working on the thread pool. (A writer thread of its own was
 * measured too: the copies and messages cost more than the overlap gained.) Nothing is ever
 * written outside the root (paths are checked again here) and no existing file is overwritten (`wx`).
 */
export class StagingWriter implements EntryHandler {
  /** Every file written, for the fallback fsync. */
  readonly files: string[] = [];
  readonly folders: string[] = [];
  private readonly root: string;
  private readonly made = new Set<string>();
  private readonly open = new Set<number>();

  constructor(root: string) {
    this.root = resolve(root);
    this.made.add(this.root);
  }

  private target(path: string): string {
    const abs = resolve(this.root, path);
    if (!abs.startsWith(this.root + sep)) {
      throw new AppError(
        'backup_invalid',
        `unsafe entry ${JSON.stringify(path)}: outside the staging folder`,
      );
    }
    return abs;
  }

  private ensureDir(abs: string): void {
    if (this.made.has(abs)) return;
    mkdirSync(abs, { recursive: true, mode: 0o700 });
    for (let d = abs; d.length > this.root.length && !this.made.has(d); d = dirname(d)) {
      this.made.add(d);
      this.folders.push(d);
    }
  }

  directory(path: string): void {
    this.ensureDir(this.target(path));
  }

  file(path: string): FileSink {
    const abs = this.target(path);
    this.ensureDir(dirname(abs));
    const fd = openSync(abs, 'wx', 0o600);
    this.open.add(fd);
    this.files.push(abs);
    return {
      write: (chunk) => {
        let off = 0;
        while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
      },
      end: () => {
        this.open.delete(fd);
        closeSync(fd);
      },
    };
  }

  /** Closes files left open (after a failure; a no-op after a complete read). */
  abort(): void {
    for (const fd of this.open) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.open.clear();
  }

  /**
   * Makes everything written durable before it is swapped in: one `syncfs` of the file system
   * (`sync -f`, coreutils) when available, else an fsync of every file and folder.
   */
  async sync(): Promise<'syncfs' | 'fsync'> {
    try {
      await syncFileSystem(this.root);
      return 'syncfs';
    } catch {
      const queue = [...this.files];
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
      for (const d of [...this.folders].reverse()) await fsyncDirectory(d);
      await fsyncDirectory(this.root);
      return 'fsync';
    }
  }
}
