import type { Hash } from 'node:crypto';
import { readSync } from 'node:fs';
import * as tar from 'tar';

const BLOCK = 512;
/** Size of the writes handed to the consumer (one gzip member each, see ParallelGzip). */
export const STAGE_BYTES = 2 * 1024 * 1024;
/** Data chunks at least this big go to the output as they are instead of being copied. */
const DIRECT_BYTES = 64 * 1024;
const ZEROS = Buffer.alloc(BLOCK * 2);
/** Largest size a ustar header holds in octal; bigger sizes also go into a pax record. */
const USTAR_MAX_SIZE = 8 ** 11 - 1;

/**
 * Writes a POSIX (ustar + pax) tar stream: headers are encoded by the `tar` package's `Header`
 * and `Pax` (pax records carry long and non-ASCII paths, as GNU tar reads them). Small pieces are
 * gathered into 2 MiB writes, so the consumer (gzip) works on large chunks; each write waits
 * until the consumer has room. File content is read straight into that buffer (no copies).
 */
export class TarWriter {
  private stage = Buffer.allocUnsafe(STAGE_BYTES);
  private used = 0;

  constructor(private readonly out: { write(chunk: Buffer): Promise<void> }) {}

  /** Adds a folder entry. */
  async directory(path: string, mtime: Date): Promise<void> {
    await this.header({ path: `${path}/`, type: 'Directory', mode: 0o750, size: 0, mtime });
  }

  /** Adds a regular file's header; its `size` bytes must follow through {@link data}, then {@link endFile}. */
  async fileHeader(path: string, size: number, mtime: Date): Promise<void> {
    await this.header({ path, type: 'File', mode: 0o640, size, mtime });
  }

  /**
   * Adds a regular file whose content is read from the open descriptor `fd` (synchronously, in
   * place into the output buffer) and fed to `hash`. Returns false when the file had fewer than
   * `size` bytes (it was changed in place while being read); the archive is then unusable.
   */
  async fileFromDescriptor(
    path: string,
    fd: number,
    size: number,
    mtime: Date,
    hash: Hash,
  ): Promise<boolean> {
    await this.fileHeader(path, size, mtime);
    let position = 0;
    while (position < size) {
      const want = Math.min(STAGE_BYTES - this.used, size - position);
      let got = 0;
      while (got < want) {
        const n = readSync(fd, this.stage, this.used + got, want - got, position + got);
        if (n === 0) return false;
        got += n;
      }
      hash.update(this.stage.subarray(this.used, this.used + want));
      this.used += want;
      position += want;
      if (this.used === STAGE_BYTES) await this.flush();
    }
    await this.endFile(size);
    return true;
  }

  /** Adds a piece of the current file's content. The buffer must not be modified afterwards. */
  async data(chunk: Buffer): Promise<void> {
    if (chunk.length >= DIRECT_BYTES) {
      await this.flush();
      await this.write(chunk);
    } else await this.copy(chunk);
  }

  /** Pads the current file's content to a whole block. */
  async endFile(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest !== 0) await this.copy(ZEROS.subarray(0, BLOCK - rest));
  }

  /** Writes the end-of-archive marker (two zero blocks) and flushes; the caller ends the output. */
  async finish(): Promise<void> {
    await this.copy(ZEROS);
    await this.flush();
  }

  private async header(data: tar.HeaderData): Promise<void> {
    const h = new tar.Header({ ...data, uid: 0, gid: 0, uname: '', gname: '' });
    if (h.encode() || (data.size ?? 0) > USTAR_MAX_SIZE) {
      const big = (data.size ?? 0) > USTAR_MAX_SIZE;
      await this.copy(
        new tar.Pax({ path: data.path, size: big ? data.size : undefined, mtime: data.mtime }).encode(),
      );
    }
    if (!h.block) throw new Error(`could not encode a tar header for ${data.path}`);
    await this.copy(h.block);
  }

  private async copy(buf: Buffer): Promise<void> {
    let offset = 0;
    while (offset < buf.length) {
      const n = Math.min(buf.length - offset, STAGE_BYTES - this.used);
      buf.copy(this.stage, this.used, offset, offset + n);
      this.used += n;
      offset += n;
      if (this.used === STAGE_BYTES) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    const full = this.stage.subarray(0, this.used);
    // The output keeps a reference until it has consumed the buffer: never reuse it.
    this.stage = Buffer.allocUnsafe(STAGE_BYTES);
    this.used = 0;
    await this.write(full);
  }

  private async write(buf: Buffer): Promise<void> {
    await this.out.write(buf);
  }
}
