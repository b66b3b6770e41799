import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/backup/create-backup.js';
import { restoreBackup } from '../../src/backup/restore-backup.js';
import { acquireRestoreLock, acquireServiceLock, serviceHolders } from '../../src/data/data-lock.js';
import { FileDataStore } from '../../src/data/file-data-store.js';
import { createStaging } from '../../src/data/folder-swap.js';
import { startTestApp } from '../helpers/app.js';
import { runScript } from '../helpers/cli.js';
import { hashTree, tempDir } from '../helpers/data-files.js';
import { testLogger } from '../helpers/logs.js';

const LIMITS = { maxFileBytes: 1024 * 1024, maxTotalBytes: 16 * 1024 * 1024 };

/** A data folder with a few memories, and a backup of a different state to restore. */
async function setup(root: string): Promise<{ dataDir: string; backupDir: string; archive: string }> {
  const dataDir = join(root, 'data');
  const backupDir = join(root, 'backups');
  const other = join(root, 'other');
  mkdirSync(join(other, 'memories'), { recursive: true });
  writeFileSync(join(other, 'memories', 'from-backup.json'), '{"restored":true}');
  const archive = (await createBackup({ dataDir: other, backupDir, keep: 5, appVersion: 'test' })).path;
  mkdirSync(join(dataDir, 'memories'), { recursive: true });
  mkdirSync(join(dataDir, 'reports'), { recursive: true });
  writeFileSync(join(dataDir, 'memories', 'live.json'), '{"live":true}');
  return { dataDir, backupDir, archive };
}

describe('restore and the service lock', () => {
  const t = tempDir('rea-lock-');
  let s: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    s = await setup(t.dir);
  });
  afterAll(() => t.remove());

  it('refuses while a running service holds the data folder, and works once it stopped', async () => {
    const app = await startTestApp({
      env: { DATA_DIR: s.dataDir, BACKUP_DIR: s.backupDir },
      waitForRedis: false,
    });
    let stopped = false;
    try {
      const holders = await serviceHolders(s.dataDir);
      expect(holders).toHaveLength(1);
      expect(holders[0]?.owner).toMatchObject({ kind: 'service', pid: process.pid });

      // A backup is fine while the service runs (through the service's own ops service).
      const made = await app.app.core.ops.createBackup();
      expect(made.fileCount).toBe(1);

      const before = hashTree(s.dataDir);
      const options = {
        archive: s.archive,
        dataDir: s.dataDir,
        backupDir: s.backupDir,
        keep: 5,
        appVersion: 'test',
        limits: LIMITS,
      };
      await expect(restoreBackup(options)).rejects.toMatchObject({
        code: 'data_locked',
        message: expect.stringMatching(
          /service instance holds the data folder .*pid \d+.*Stop it first.*--force/,
        ),
      });
      const cli = await runScript(
        'backup',
        ['restore', s.archive],
        { DATA_DIR: s.dataDir, BACKUP_DIR: s.backupDir },
        t.dir,
      );
      expect(cli.code).toBe(5);
      expect(cli.stderr).toMatch(/refusing to restore: a service instance holds the data folder/);
      const dry = await runScript(
        'backup',
        ['restore', s.archive, '--dry-run'],
        { DATA_DIR: s.dataDir, BACKUP_DIR: s.backupDir },
        t.dir,
      );
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(/added 1, changed 0, removed 1/);
      expect(dry.stdout).toMatch(/would refuse unless --force/);
      expect(hashTree(s.dataDir)).toBe(before);

      await app.stop();
      stopped = true;
      expect(await serviceHolders(s.dataDir)).toEqual([]);
      const r = await restoreBackup(options);
      expect(r.changes).toEqual({ added: 1, changed: 0, removed: 1, unchanged: 0 });
      expect(readdirSync(join(s.dataDir, 'memories'))).toEqual(['from-backup.json']);
      expect(r.preRestore?.fileCount).toBe(1);
    } finally {
      if (!stopped) await app.stop();
    }
  });

  it('--force restores under a running service and says so', async () => {
    const lock = await acquireServiceLock(s.dataDir, { version: 'test' });
    try {
      const r = await restoreBackup({
        archive: s.archive,
        dataDir: s.dataDir,
        backupDir: s.backupDir,
        keep: 5,
        appVersion: 'test',
        limits: LIMITS,
        force: true,
      });
      expect(r.holders).toHaveLength(1);
      expect(r.holders[0]).toMatch(/^service pid \d+/);
    } finally {
      await lock.release();
    }
  });

  it('a service cannot start while a restore runs', async () => {
    const restore = await acquireRestoreLock(s.dataDir, { version: 'test' });
    try {
      const logs = testLogger('lock');
      const store = new FileDataStore({ dataDir: s.dataDir, logger: logs.logger });
      await expect(store.open()).rejects.toMatchObject({
        code: 'data_locked',
        message: expect.stringMatching(/a restore is in progress/),
      });
      await expect(acquireRestoreLock(s.dataDir, { version: 'test' })).rejects.toMatchObject({
        code: 'data_locked',
      });
    } finally {
      await restore.release();
    }
  });
});

describe('stale and foreign locks', () => {
  const t = tempDir('rea-stale-');
  let s: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    s = await setup(t.dir);
  });
  afterAll(() => t.remove());

  function writeLock(name: string, owner: Record<string, unknown>): string {
    const file = join(s.dataDir, '.locks', name);
    mkdirSync(join(s.dataDir, '.locks'), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({ kind: 'service', started_at: new Date().toISOString(), version: 'x', ...owner }),
    );
    return file;
  }

  it('removes the lock of a process that is gone (and of a reused pid), then restores', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(dead.stdout.trim());
    const probe = await acquireServiceLock(s.dataDir, { version: 'test' });
    const me = probe.owner;
    await probe.release();
    writeLock('service-dead.json', { ...me, pid: deadPid, pid_start: undefined });
    // Our own pid, but another process start time: a previous life of this pid (a container restart).
    writeLock('service-reused.json', { ...me, pid_start: `${me.pid_start ?? '1'}0` });
    const stale: string[] = [];
    const r = await restoreBackup({
      archive: s.archive,
      dataDir: s.dataDir,
      backupDir: s.backupDir,
      keep: 5,
      appVersion: 'test',
      limits: LIMITS,
      onStale: (h) => stale.push(h.file),
    });
    expect(r.fileCount).toBe(1);
    expect(stale.map((f) => f.split('/').pop()).sort()).toEqual(['service-dead.json', 'service-reused.json']);
  });

  it('a lock from another host cannot be checked: refused without --force, and the message says why', async () => {
    writeLock('service-elsewhere.json', { pid: 1, hostname: `${hostname()}-other` });
    const before = hashTree(s.dataDir);
    await expect(
      restoreBackup({
        archive: s.archive,
        dataDir: s.dataDir,
        backupDir: s.backupDir,
        keep: 5,
        appVersion: 'test',
        limits: LIMITS,
      }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/on host .*-other \(cannot be checked from here\)/),
    });
    expect(hashTree(s.dataDir)).toBe(before);
  });
});

describe('a restore interrupted by a crash', () => {
  const t = tempDir('rea-interrupted-');
  afterAll(() => t.remove());

  it('is rolled back when the service next opens the data folder: live data exactly as before', async () => {
    const dataDir = join(t.dir, 'data');
    mkdirSync(join(dataDir, 'memories'), { recursive: true });
    mkdirSync(join(dataDir, 'reports'), { recursive: true });
    writeFileSync(join(dataDir, 'memories', 'original.json'), '{"original":true}');
    writeFileSync(join(dataDir, 'reports', 'original.md'), '# original');
    const before = {
      memories: hashTree(join(dataDir, 'memories')),
      reports: hashTree(join(dataDir, 'reports')),
    };
    // Simulate a crash half-way through the swap: reports already swapped, memories not yet.
    const staging = await createStaging(dataDir);
    mkdirSync(join(staging.newDir, 'reports'), { recursive: true });
    mkdirSync(join(staging.newDir, 'memories'), { recursive: true });
    writeFileSync(join(staging.newDir, 'reports', 'restored.md'), '# restored');
    writeFileSync(join(staging.newDir, 'memories', 'restored.json'), '{}');
    writeFileSync(
      join(staging.dir, 'journal.json'),
      JSON.stringify({ phase: 'swapping', had: { reports: true, memories: true } }),
    );
    mkdirSync(staging.oldDir);
    renameSync(join(dataDir, 'reports'), join(staging.oldDir, 'reports'));
    renameSync(join(staging.newDir, 'reports'), join(dataDir, 'reports'));

    const logs = testLogger('interrupted');
    const store = new FileDataStore({ dataDir, logger: logs.logger });
    await store.open();
    await store.close();
    expect(hashTree(join(dataDir, 'memories'))).toBe(before.memories);
    expect(hashTree(join(dataDir, 'reports'))).toBe(before.reports);
    expect(readdirSync(dataDir).filter((n) => n.startsWith('.restore-'))).toEqual([]);
    expect(
      logs
        .lines()
        .some((l) => l.msg === 'finished a restore that was interrupted' && l.action === 'rolled_back'),
    ).toBe(true);
  });
});
