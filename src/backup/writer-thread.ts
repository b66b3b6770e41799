import { Worker } from 'node:worker_threads';

/**
 * A thread that makes the file system calls of an extraction, as GNU tar's own process does while
 * gzip runs in another: folders, then per file an exclusive create (`wx`), its writes and a close.
 * It receives batches of operations with their data (transferred, not copied) and answers each
 * batch by handing the data buffer back for reuse (touching fresh memory costs more than copying
 * into a warm buffer), or stops at the first failure and reports it. Paths arrive absolute and
 * already checked.
 *
 * The thread's code is plain JavaScript run with `eval`, so it works the same from the compiled
 * build, under tsx and under vitest (none of which share a module loader with a worker).
 */
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
let fd = -1;
let failed = false;
parentPort.on('message', (m) => {
  if (m === 'close') {
    if (fd >= 0) fs.closeSync(fd);
    fd = -1;
    parentPort.close();
    return;
  }
  if (failed) return;
  try {
    const data = Buffer.from(m.data);
    let off = 0;
    const ops = m.ops;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (typeof op === 'number') {
        const end = off + op;
        while (off < end) off += fs.writeSync(fd, data, off, end - off);
      } else if (op === 'd') fs.mkdirSync(ops[++i], { recursive: true, mode: 0o700 });
      else if (op === 'f') fd = fs.openSync(ops[++i], 'wx', 0o600);
      else {
        fs.closeSync(fd);
        fd = -1;
      }
    }
    parentPort.postMessage(m.data, [m.data]);
  } catch (err) {
    failed = true;
    parentPort.postMessage({ message: err.message, code: err.code });
  }
});
`;

/**
 * A batch's operations, flat (no array per operation: a restore makes three or more per file):
 * `'d', path` makes a folder, `'f', path` creates a file, a number `n` writes the next `n` bytes of
 * the batch's data to it, `'c'` closes it.
 */
export type WriteOps = (string | number)[];

/** The main-thread end of a {@link SOURCE} thread: sends batches, counts answers, keeps the first error. */
export class WriterThread {
  private readonly worker = new Worker(SOURCE, { eval: true });
  private readonly spare: ArrayBuffer[] = [];
  private pending = 0;
  private error: Error | undefined;
  private waiting: (() => void) | undefined;
  private readonly exited: Promise<void>;

  constructor() {
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (m: ArrayBuffer | { message: string; code?: string }) => {
      this.pending--;
      if (m instanceof ArrayBuffer) this.spare.push(m);
      else this.error ??= Object.assign(new Error(m.message), { code: m.code });
      this.waiting?.();
    });
    this.worker.on('error', (err) => {
      this.error ??= err;
      this.pending = 0;
      this.waiting?.();
    });
  }

  /** A data buffer of `bytes` for the next batch: one the thread handed back, or a new one. */
  buffer(bytes: number): Buffer {
    const reused = this.spare.pop();
    return reused?.byteLength === bytes ? Buffer.from(reused) : Buffer.allocUnsafeSlow(bytes);
  }

  /** Sends a batch (throws the thread's first error, if any). */
  send(ops: WriteOps, data: ArrayBuffer): void {
    this.check();
    this.worker.postMessage({ ops, data }, [data]);
    this.pending++;
  }

  /** Resolves once at most `depth` batches are unanswered (undefined: already so); throws the thread's first error. */
  ready(depth: number): Promise<void> | undefined {
    this.check();
    return this.pending > depth ? this.drain(depth) : undefined;
  }

  /** Waits until every batch is answered; throws the thread's first error. */
  async flush(): Promise<void> {
    await this.drain(0);
  }

  /** Closes the file left open (after a failure) and ends the thread. */
  async close(): Promise<void> {
    this.worker.postMessage('close');
    await this.exited;
  }

  private async drain(depth: number): Promise<void> {
    while (this.pending > depth && !this.error) {
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
    this.check();
  }

  private check(): void {
    if (this.error) throw this.error;
  }
}
