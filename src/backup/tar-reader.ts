import { createHash, type Hash, hash } from 'node:crypto';
import * as tar from 'tar';
import { AppError } from '../core/errors.js';
import { checkEntryPath, MANIFEST_NAME, shown } from './entry-path.js';
import { decodeHeader, type PendingFields } from './tar-header.js';

/** Bounds on what an archive may hold: the guard against gzip bombs and absurd archives. */
export interface ReadLimits {
  /** Largest single file. */
  readonly maxFileBytes: number;
  /** Largest sum of all files. */
  readonly maxTotalBytes: number;
  /** Most entries (files, folders, extended headers). Default 1,000,000. */
  readonly maxEntries?: number;
}

/**
 * Receives a file's content while the archive is read (e.g. writes it into a staging folder).
 * A chunk is only valid during the call: keep a copy, not the buffer.
 */
export interface FileSink {
  write(chunk: Buffer): void;
  end(): void;
}

/**
 * Told about each folder and file as it is read. The calls are synchronous; a handler that hands
 * work elsewhere applies backpressure through {@link EntryHandler.ready}, awaited between chunks.
 */
export interface EntryHandler {
  directory(path: string): void;
  file(path: string, size: number): FileSink;
  /** Resolves when the handler can take more (undefined: at once). */
  ready?(): Promise<void> | undefined;
}

/** A file as found in the archive. */
export interface FoundFile {
  readonly size: number;
  readonly sha256: string;
}

const BLOCK = 512;
const MAX_META_BYTES = 64 * 1024;
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const MAX_META_IN_A_ROW = 4;
const MAX_TRAILING_BYTES = 16 * 1024 * 1024;
const METADATA_ALLOWANCE = 1024 * 1024 * 1024;

function invalid(message: string): AppError {
  return new AppError('backup_invalid', message);
}

function isZero(buf: Buffer, from = 0, to = buf.length): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * A file being read. Its SHA-256 is taken in one call when its whole content arrives in one piece
 * (most files of a data folder: a piece is up to 256 KiB), else with a {@link Hash} made at its
 * first piece: a Hash object per file was a tenth of a verify's CPU.
 */
interface FileEntry {
  kind: 'file';
  path: string;
  size: number;
  hash: Hash | undefined;
  sha256: string | undefined;
  sink: FileSink | undefined;
}

/** SHA-256 of no bytes (an empty file). */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

type Current =
  | FileEntry
  | { kind: 'manifest'; chunks: Buffer[] }
  | { kind: 'meta'; type: string; chunks: Buffer[] };

/**
 * A strict streaming reader of (decompressed) tar data. Headers are decoded by tar-header.ts
 * (checksums, ustar prefixes), pax records by the `tar` package's `Pax`, GNU long names here; this
 * loop adds what a restore needs: only folders and regular files, every path checked, sizes
 * bounded, each file hashed as it streams, no data after the end-of-archive marker. Any violation
 * throws `backup_invalid`.
 */
export class TarReader {
  /** Files by path, with size and SHA-256. */
  readonly files = new Map<string, FoundFile>();
  /** Folders listed as entries, in archive order. */
  readonly directories = new Set<string>();
  manifestText: string | undefined;
  /** Decompressed bytes read so far. */
  bytes = 0;

  private state: 'header' | 'body' | 'pad' | 'eof' = 'header';
  private held: Buffer | undefined;
  private zeroBlocks = 0;
  private ex: PendingFields | undefined;
  private gex: PendingFields | undefined;
  private current: Current | undefined;
  private remaining = 0;
  private pad = 0;
  private entries = 0;
  private metaInARow = 0;
  private declaredTotal = 0;
  private trailing = 0;
  /**
   * Folders the entries so far make (explicit or implied). Listed ones are in {@link directories},
   * files in {@link files} (a file is in it before the next header is read): no set of every path,
   * which made a restore's heap grow by a collection per entry kept.
   */
  private readonly folders = new Set<string>();
  private readonly maxEntries: number;

  constructor(
    private readonly limits: ReadLimits,
    private readonly handler?: EntryHandler,
  ) {
    this.maxEntries = limits.maxEntries ?? 1_000_000;
  }

  /** Consumes the next piece of tar data (synchronously, handler calls included). */
  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limits.maxTotalBytes + METADATA_ALLOWANCE) {
      throw invalid(
        `the archive expands to more than ${this.limits.maxTotalBytes} bytes (BACKUP_MAX_TOTAL_BYTES)`,
      );
    }
    let data = chunk;
    if (this.held) {
      data = Buffer.concat([this.held, chunk]);
      this.held = undefined;
    }
    let off = 0;
    while (off < data.length) {
      const avail = data.length - off;
      if (this.state === 'header') {
        if (avail < BLOCK) {
          this.held = Buffer.from(data.subarray(off));
          return;
        }
        this.header(data, off, this.bytes - (data.length - off));
        off += BLOCK;
      } else if (this.state === 'body') {
        const n = Math.min(this.remaining, avail);
        this.body(data.subarray(off, off + n));
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) this.finishEntry();
      } else if (this.state === 'pad') {
        const n = Math.min(this.pad, avail);
        off += n;
        this.pad -= n;
        if (this.pad === 0) this.state = 'header';
      } else {
        this.trailing += avail;
        if (!isZero(data, off) || this.trailing > MAX_TRAILING_BYTES) {
          throw invalid('the archive has data after its end-of-archive marker (an appended or hidden entry)');
        }
        off = data.length;
      }
    }
  }

  /** Checks that the data ended where an archive may end. */
  finish(): void {
    if (this.state === 'eof') return;
    if (this.state === 'body' && this.current?.kind === 'file') {
      throw invalid(`the archive is truncated: it ends inside ${shown(this.current.path)}`);
    }
    if (this.bytes === 0) throw invalid('the archive holds no tar data');
    throw invalid('the archive is truncated: it ends before the end-of-archive marker');
  }

  /** The 512-byte header at `data[off]`, found at byte `position` of the tar data. */
  private header(data: Buffer, off: number, position: number): void {
    if (isZero(data, off, off + BLOCK)) {
      this.zeroBlocks++;
      if (this.zeroBlocks === 2) this.state = 'eof';
      return;
    }
    if (this.zeroBlocks > 0)
      throw invalid(`a lone zero block before byte ${position}: the archive is corrupt`);
    const h = decodeHeader(data, off, this.ex, this.gex);
    if (!h.cksumValid)
      throw invalid(`tar header checksum mismatch at byte ${position}: the archive is corrupt`);
    if (++this.entries > this.maxEntries)
      throw invalid(`the archive has more than ${this.maxEntries} entries`);
    const size = h.size ?? 0;
    if (!Number.isSafeInteger(size) || size < 0)
      throw invalid(`tar header at byte ${position} has an invalid size`);
    const type = h.type;
    const path = h.path;
    if (['ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'OldGnuLongPath'].includes(type)) {
      if (size > MAX_META_BYTES)
        throw invalid(`a ${type} record of ${size} bytes (at most ${MAX_META_BYTES})`);
      if (++this.metaInARow > MAX_META_IN_A_ROW) throw invalid('too many extended headers in a row');
      this.current = { kind: 'meta', type, chunks: [] };
      this.begin(size);
      return;
    }
    this.metaInARow = 0;
    this.ex = undefined;
    const refuse = (what: string) => invalid(`unsafe entry ${shown(path)}: ${what}`);
    if (type === 'Link') throw refuse('a hard link (links are never restored)');
    if (type === 'SymbolicLink') throw refuse('a symbolic link (links are never restored)');
    if (type === 'CharacterDevice' || type === 'BlockDevice') throw refuse('a device file');
    if (type === 'FIFO') throw refuse('a FIFO');
    const isDir = type === 'Directory';
    if (!isDir && type !== 'File' && type !== 'ContiguousFile') {
      throw refuse(`unsupported entry type ${type}`);
    }
    const check = checkEntryPath(path, isDir ? 'directory' : 'file');
    if (!check.ok) throw refuse(check.reason);
    if (this.listed(check.path, isDir)) throw invalid(`${shown(check.path)} appears twice in the archive`);
    this.checkShape(check.path, isDir);
    if (isDir) {
      this.directories.add(check.path);
      this.handler?.directory(check.path);
      this.begin(0);
      return;
    }
    if (check.path === MANIFEST_NAME) {
      if (size > MAX_MANIFEST_BYTES)
        throw invalid(`manifest.json declares ${size} bytes (at most ${MAX_MANIFEST_BYTES})`);
      this.current = { kind: 'manifest', chunks: [] };
      this.begin(size);
      return;
    }
    if (size > this.limits.maxFileBytes) {
      throw invalid(
        `${shown(check.path)} declares ${size} bytes, over the per-file limit of ${this.limits.maxFileBytes} (BACKUP_MAX_FILE_BYTES)`,
      );
    }
    this.declaredTotal += size;
    if (this.declaredTotal > this.limits.maxTotalBytes) {
      throw invalid(
        `the files add up to more than ${this.limits.maxTotalBytes} bytes (BACKUP_MAX_TOTAL_BYTES)`,
      );
    }
    const sink = this.handler?.file(check.path, size);
    this.current = { kind: 'file', path: check.path, size, hash: undefined, sha256: undefined, sink };
    this.begin(size);
  }

  /** True when an entry of this path and kind came before (a file and a folder: see checkShape). */
  private listed(path: string, isDir: boolean): boolean {
    if (isDir) return this.directories.has(path);
    return path === MANIFEST_NAME ? this.manifestText !== undefined : this.files.has(path);
  }

  /**
   * Refuses a tree no file system can hold: an entry under a path that is a file, or a file at a
   * path that is a folder (of an earlier entry). Found here, a dry run and verify refuse what the
   * extraction would fail on.
   */
  private checkShape(path: string, isDir: boolean): void {
    if (!isDir && this.folders.has(path))
      throw invalid(`${shown(path)} is both a file and a folder in the archive`);
    for (let cut = path.lastIndexOf('/'); cut > 0; cut = path.lastIndexOf('/', cut - 1)) {
      const parent = path.slice(0, cut);
      if (this.files.has(parent))
        throw invalid(`${shown(path)} lies under ${shown(parent)}, which the archive holds as a file`);
      if (this.folders.has(parent)) break; // its own parents were checked when it was added
      this.folders.add(parent);
    }
    if (isDir) this.folders.add(path);
  }

  private begin(size: number): void {
    this.remaining = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size > 0) this.state = 'body';
    else this.finishEntry();
  }

  private body(piece: Buffer): void {
    const c = this.current;
    if (!c) return;
    if (c.kind === 'file') {
      if (c.hash === undefined && piece.length === c.size) c.sha256 = hash('sha256', piece, 'hex');
      else {
        c.hash ??= createHash('sha256');
        c.hash.update(piece);
      }
      c.sink?.write(piece);
    } else c.chunks.push(Buffer.from(piece)); // a copy: the chunk is the caller's
  }

  private finishEntry(): void {
    const c = this.current;
    this.current = undefined;
    this.state = this.pad > 0 ? 'pad' : 'header';
    this.zeroBlocks = 0;
    if (!c) return;
    if (c.kind === 'file') {
      this.files.set(c.path, { size: c.size, sha256: c.sha256 ?? c.hash?.digest('hex') ?? EMPTY_SHA256 });
      c.sink?.end();
    } else if (c.kind === 'manifest') {
      this.manifestText = Buffer.concat(c.chunks).toString('utf8');
    } else {
      const text = Buffer.concat(c.chunks).toString('utf8');
      if (c.type === 'ExtendedHeader') this.ex = tar.Pax.parse(text, this.ex, false);
      else if (c.type === 'GlobalExtendedHeader') this.gex = tar.Pax.parse(text, this.gex, true);
      else this.ex = { ...this.ex, path: text.replace(/\0[\s\S]*$/, '') };
    }
  }
}
