import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { pipeline, Readable } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { AppError } from '../core/errors.js';
import { INDEX_PROBE_BYTES, indexedMemberLength } from './gzip-index.js';

/** Most bytes one indexed member may inflate to (ours hold 2 MiB): the gzip-bomb bound per member. */
const MAX_MEMBER_OUTPUT = 16 * 1024 * 1024;
/** Most bytes one indexed member may take in the file (deflate never grows data by more than a little). */
const MAX_MEMBER_BYTES = MAX_MEMBER_OUTPUT + 64 * 1024;
const MIN_MEMBER_BYTES = INDEX_PROBE_BYTES + 2 + 8;
/**
 * Output pieces of inflation, and the smallest read buffer: small enough that the allocator
 * recycles them. Touching fresh memory costs more than inflating into it.
 */
const PIECE_BYTES = 256 * 1024;
const READ_BYTES = 1024 * 1024;

function invalid(message: string): AppError {
  return new AppError('backup_invalid', message);
}

/** Inflates one whole member on the thread pool into pieces of {@link PIECE_BYTES}. */
async function inflateMember(member: Buffer): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  let total = 0;
  const inflater = createGunzip({ chunkSize: PIECE_BYTES });
  inflater.end(member);
  try {
    for await (const piece of inflater as AsyncIterable<Buffer>) {
      total += piece.length;
      if (total > MAX_MEMBER_OUTPUT) {
        throw invalid(
          `a gzip member expands to more than ${MAX_MEMBER_OUTPUT} bytes: not one of our archives`,
        );
      }
      pieces.push(piece);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw invalid(
      `the archive's gzip data is corrupt (${(err as Error).message}): a damaged or altered file`,
    );
  }
  return pieces;
}

/** Reads `into.length` bytes at `position` (fewer only at the end of the file); returns the count. */
async function readAt(file: FileHandle, into: Buffer, position: number): Promise<number> {
  let got = 0;
  while (got < into.length) {
    const { bytesRead } = await file.read(into, got, into.length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** The rest of the file from `start`, each piece fed to `hash` as it is read. */
async function* restOf(file: FileHandle, start: number, hash: Hash): AsyncGenerator<Buffer> {
  for await (const piece of file.createReadStream({ start, highWaterMark: READ_BYTES, autoClose: false })) {
    hash.update(piece);
    yield piece as Buffer;
  }
}

/**
 * Reads the gzip file `path` and yields its decompressed bytes in order, feeding every byte of
 * the file to `hash`. While the members carry our index (see gzip-index.ts) each is read whole
 * into a reused buffer and up to `parallel` of them inflate at once on the thread pool, each
 * bounded to {@link MAX_MEMBER_OUTPUT}; from the first member without it (GNU tar's archives,
 * older ones, anything appended) the rest is inflated as one stream, as gzip does. Zero bytes
 * after the last indexed member are padding, as gzip reads them. Corrupt data throws
 * `backup_invalid` or a zlib error (code `Z_…`).
 */
export async function* gunzipFile(
  path: string,
  hash: Hash,
  parallel = Math.min(4, availableParallelism() + 1),
): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  try {
    const probe = Buffer.alloc(INDEX_PROBE_BYTES);
    const spare: Buffer[] = [];
    const inflight: Promise<Buffer[]>[] = [];
    let position = 0;
    let probed = 0;
    for (;;) {
      probed = await readAt(file, probe, position);
      const length = probed === INDEX_PROBE_BYTES ? indexedMemberLength(probe) : undefined;
      if (length === undefined) break;
      if (length < MIN_MEMBER_BYTES || length > MAX_MEMBER_BYTES) {
        throw invalid(
          `the archive's gzip data is corrupt: a member records an impossible length (${length})`,
        );
      }
      let buffer = spare.pop();
      if (!buffer || buffer.length < length) buffer = Buffer.allocUnsafeSlow(Math.max(length, READ_BYTES));
      const member = buffer.subarray(0, length);
      if ((await readAt(file, member, position)) < length) {
        throw invalid('the archive is truncated: its gzip data ends early');
      }
      hash.update(member);
      position += length;
      const reuse = buffer;
      const job = inflateMember(member).finally(() => spare.push(reuse));
      job.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
      inflight.push(job);
      while (inflight.length >= parallel) yield* await (inflight.shift() as Promise<Buffer[]>);
    }
    while (inflight.length > 0) yield* await (inflight.shift() as Promise<Buffer[]>);
    if (position > 0 && probed === 0) return;
    if (position > 0 && probe[0] === 0) {
      for await (const piece of restOf(file, position, hash)) {
        if (piece.some((b) => b !== 0)) throw invalid('the archive has data after the end of its gzip data');
      }
      return;
    }
    // A deep output buffer lets inflation run ahead on the thread pool while entries are processed.
    const inflater = createGunzip({
      chunkSize: 512 * 1024,
      readableHighWaterMark: 8 * 1024 * 1024,
    } as ZlibOptions);
    yield* pipeline(Readable.from(restOf(file, position, hash)), inflater, () => undefined);
  } finally {
    await file.close();
  }
}
