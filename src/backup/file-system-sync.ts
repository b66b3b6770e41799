import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Longest wait for one sync before the helper is given up (the caller then fsyncs file by file). */
const SYNC_TIMEOUT_MS = 300_000;

/**
 * `syncfs(2)` of the file system holding a folder, on request, from one helper process for the
 * whole restore: `sh` running coreutils' `sync -f` each time it reads a line, and answering `ok`
 * or `fail`. Node has no binding for syncfs, and starting a process per sync forks the whole
 * service process each time: about 10 ms of blocked event loop per call at 200 MB of memory, more
 * as it grows. The helper is forked once, before the extraction has grown the heap.
 *
 * {@link sync} resolves false when the file system could not be synced this way (no `sh`, a
 * `sync` without `-f`, a helper that died or hung); the caller falls back to fsyncing every file.
 */
export class FileSystemSync {
  private readonly child: ChildProcess;
  private readonly waiting: ((synced: boolean) => void)[] = [];
  private readonly exited: Promise<void>;
  private usable = true;

  constructor(folder: string) {
    this.child = spawn(
      'sh',
      ['-c', 'while read -r _; do if sync -f "$0"; then echo ok; else echo fail; fi; done', folder],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    this.exited = new Promise((resolve) => {
      this.child.once('close', () => resolve());
      // A helper that could not start never emits 'close' in some Node versions: 'error' settles too.
      this.child.once('error', () => {
        this.giveUp();
        resolve();
      });
    });
    this.child.once('exit', () => this.giveUp());
    this.child.stdin?.on('error', () => this.giveUp());
    if (this.child.stdout) {
      createInterface({ input: this.child.stdout }).on('line', (line) =>
        this.waiting.shift()?.(line === 'ok'),
      );
    }
  }

  /** Syncs the file system; true when done, false when this helper cannot do it. */
  sync(): Promise<boolean> {
    if (!this.usable) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const answer = (synced: boolean) => {
        clearTimeout(timer);
        resolve(synced);
      };
      timer = setTimeout(() => {
        this.giveUp();
        this.child.kill('SIGKILL');
      }, SYNC_TIMEOUT_MS);
      this.waiting.push(answer);
      this.child.stdin?.write('\n');
    });
  }

  /** Ends the helper and waits for it to exit. Requests still waiting resolve false. */
  async close(): Promise<void> {
    this.child.stdin?.end();
    await this.exited;
    this.giveUp();
  }

  private giveUp(): void {
    this.usable = false;
    for (const answer of this.waiting.splice(0)) answer(false);
  }
}
