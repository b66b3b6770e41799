import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { withMemberIndex } from './gzip-index.js';

const gzipAsync = promisify(gzip);

/** Where compressed bytes go, in order. */
export type ByteSink = (chunk: Buffer) => Promise<void>;

/** Options for {@link ParallelGzip}. */
export interface ParallelGzipOptions {
  /** gzip level 1-9; default 6. */
  readonly level?: number;
  /** Uncompressed bytes per gzip member. Default 2 MiB. */
  readonly blockBytes?: number;
  /** Members compressed at once (on libuv's thread pool). Default: the CPU count, 2 to 4. */
  readonly parallel?: number;
}

/**
 * gzip compression spread over several cores, as pigz does it: the input is cut into blocks, each
 * block is compressed on the thread pool into its own gzip member, and the members are written in
 * order. A sequence of members is one valid gzip file (RFC 1952 section 2.2): gzip, GNU tar,
 * Python and Node all read it as the concatenation of the blocks. The cost is a few bytes per
 * block and a compression dictionary that restarts every block. Each member records its own length
 * (see gzip-index.ts), so a restore can inflate several members at once too.
 */
export class ParallelGzip {
  private readonly level: number;
  private readonly blockBytes: number;
  private readonly parallel: number;
  private block: Buffer[] = [];
  private blockSize = 0;
  private readonly inflight: Promise<Buffer>[] = [];

  constructor(
    private readonly sink: ByteSink,
    options: ParallelGzipOptions = {},
  ) {
    this.level = options.level ?? 6;
    this.blockBytes = options.blockBytes ?? 2 * 1024 * 1024;
    this.parallel = options.parallel ?? Math.min(4, Math.max(2, availableParallelism()));
    if (!(this.level >= 1 && this.level <= 9)) throw new RangeError('level must be 1-9');
  }

  /** Adds bytes; resolves once there is room for more. The buffer must not be modified afterwards. */
  async write(chunk: Buffer): Promise<void> {
    let rest = chunk;
    while (rest.length > 0) {
      const take = Math.min(rest.length, this.blockBytes - this.blockSize);
      this.block.push(take === rest.length ? rest : rest.subarray(0, take));
      this.blockSize += take;
      rest = rest.subarray(take);
      if (this.blockSize === this.blockBytes) await this.submit();
    }
  }

  /** Compresses what is left and writes every member; resolves when the sink has everything. */
  async end(): Promise<void> {
    if (this.blockSize > 0 || this.inflight.length === 0) await this.submit(true);
    while (this.inflight.length > 0) await this.sink(await (this.inflight.shift() as Promise<Buffer>));
  }

  private async submit(force = false): Promise<void> {
    if (this.blockSize === 0 && !force) return;
    const input =
      this.block.length === 1 ? (this.block[0] as Buffer) : Buffer.concat(this.block, this.blockSize);
    this.block = [];
    this.blockSize = 0;
    const job = gzipAsync(input, { level: this.level }).then(withMemberIndex);
    job.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
    this.inflight.push(job);
    while (this.inflight.length >= this.parallel)
      await this.sink(await (this.inflight.shift() as Promise<Buffer>));
  }
}
