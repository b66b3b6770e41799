import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSystemSync } from '../../src/backup/file-system-sync.js';
import { tempDir } from '../helpers/data-files.js';

/** Helpers of this process for `folder` still running (other tests may run helpers of their own). */
function helpersFor(folder: string): string[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], {
    encoding: 'utf8',
  }).trim();
  return out === '' ? [] : out.split('\n').filter((l) => l.includes('sync -f') && l.includes(folder));
}

describe('FileSystemSync: one helper process syncs the file system on request', () => {
  const t = tempDir('rea-fssync-');
  afterAll(() => t.remove());

  it('syncs a folder several times through one helper, then leaves no process behind', async () => {
    const fs = new FileSystemSync(t.dir);
    expect(helpersFor(t.dir)).toHaveLength(1);
    // Concurrent requests are answered in order, each with its own answer.
    expect(await Promise.all([fs.sync(), fs.sync(), fs.sync()])).toEqual([true, true, true]);
    expect(helpersFor(t.dir)).toHaveLength(1);
    await fs.close();
    expect(helpersFor(t.dir)).toEqual([]);
    expect(await fs.sync()).toBe(false);
  });

  it('answers false when the folder cannot be synced, so the caller falls back to fsync', async () => {
    const missing = join(t.dir, 'no-such-folder');
    const fs = new FileSystemSync(missing);
    expect(await fs.sync()).toBe(false);
    await fs.close();
    expect(helpersFor(missing)).toEqual([]);
  });
});
