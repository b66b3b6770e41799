import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listArchives } from '../../src/backup/archive-files.js';
import { createBackup } from '../../src/backup/create-backup.js';
import { parseManifest } from '../../src/backup/manifest.js';
import { restoreBackup } from '../../src/backup/restore-backup.js';
import { verifyArchive } from '../../src/backup/verify-backup.js';
import { runScript } from '../helpers/cli.js';
import { generateTree, hashTree, readTree, tempDir } from '../helpers/data-files.js';

const LIMITS = { maxFileBytes: 64 * 1024 * 1024, maxTotalBytes: 1024 * 1024 * 1024 };
const FILES = 1200;

describe('backup and restore round trip', () => {
  const t = tempDir('rea-roundtrip-');
  const dataDir = join(t.dir, 'data');
  const backupDir = join(t.dir, 'backups');
  let archive: string;
  let before: { reports: string; memories: string };

  beforeAll(async () => {
    generateTree(dataDir, FILES, { bigFiles: 3, emptyDirs: 2 });
    before = { reports: hashTree(join(dataDir, 'reports')), memories: hashTree(join(dataDir, 'memories')) };
    const r = await createBackup({ dataDir, backupDir, keep: 14, appVersion: 'test' });
    archive = r.path;
  });
  afterAll(() => t.remove());

  it(`archives ${FILES} files (nested, Unicode names, empty files, a few MB ones) with a complete manifest`, async () => {
    expect(archive).toMatch(/backup_\d{8}_\d{6}\.tar\.gz$/);
    const v = await verifyArchive(archive, LIMITS);
    expect(v.fileCount).toBe(FILES);
    const onDisk = readTree(dataDir);
    expect(v.manifest.files.map((f) => f.path).sort()).toEqual([...onDisk.keys()].sort());
    expect(v.manifest.format_version).toBe(1);
    expect(v.manifest.app_version).toBe('test');
    expect(v.manifest.directories).toContain('memories/empty-0/deeper');
    expect(v.manifest.files.some((f) => f.size === 0)).toBe(true);
    expect(v.manifest.files.some((f) => f.size > 2 * 1024 * 1024)).toBe(true);
    expect(v.manifest.files.some((f) => /[^ -~]/.test(f.path))).toBe(true);
  });

  it('restores into an emptied data folder byte-identically', async () => {
    rmSync(join(dataDir, 'reports'), { recursive: true });
    rmSync(join(dataDir, 'memories'), { recursive: true });
    const r = await restoreBackup({
      archive,
      dataDir,
      backupDir,
      keep: 14,
      appVersion: 'test',
      limits: LIMITS,
    });
    expect(r.fileCount).toBe(FILES);
    expect(r.changes).toEqual({ added: FILES, changed: 0, removed: 0, unchanged: 0 });
    expect(hashTree(join(dataDir, 'reports'))).toBe(before.reports);
    expect(hashTree(join(dataDir, 'memories'))).toBe(before.memories);
    expect(readdirSync(dataDir).filter((n) => n.startsWith('.restore-'))).toEqual([]);
    expect(r.preRestore?.name).toMatch(/^backup_pre_restore_\d{8}_\d{6}\.tar\.gz$/);
  });

  it('GNU tar lists the archive (tar -tzf) and extracts it (tar -xzf) identically', () => {
    const list = spawnSync('tar', ['-tzf', archive], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, LC_ALL: 'C.UTF-8' },
    });
    expect(list.status, list.stderr).toBe(0);
    const names = list.stdout.split('\n').filter(Boolean);
    expect(names).toContain('manifest.json');
    expect(names.filter((n) => !n.endsWith('/') && n !== 'manifest.json')).toHaveLength(FILES);
    const out = join(t.dir, 'gnu');
    mkdirSync(out);
    const x = spawnSync('tar', ['-xzf', archive, '-C', out], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, LC_ALL: 'C.UTF-8' },
    });
    expect(x.status, x.stderr).toBe(0);
    expect(hashTree(join(out, 'reports'))).toBe(before.reports);
    expect(hashTree(join(out, 'memories'))).toBe(before.memories);
    const manifest = parseManifest(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.file_count).toBe(FILES);
  });

  it('never overwrites an archive made in the same second', async () => {
    const dir = join(t.dir, 'same-second');
    const at = new Date('2030-01-02T03:04:05.600Z');
    const a = await createBackup({
      dataDir,
      backupDir: dir,
      keep: 14,
      appVersion: 'test',
      now: () => at,
      gzipLevel: 1,
    });
    const b = await createBackup({
      dataDir,
      backupDir: dir,
      keep: 14,
      appVersion: 'test',
      now: () => at,
      gzipLevel: 1,
    });
    expect(a.name).toBe('backup_20300102_030405.tar.gz');
    expect(b.name).toBe('backup_20300102_030406.tar.gz');
    expect(readdirSync(dir).sort()).toEqual([a.name, b.name]);
  });
});

describe('retention', () => {
  const t = tempDir('rea-retention-');
  afterAll(() => t.remove());

  it('keeps exactly BACKUP_KEEP archives, the newest, and touches nothing else', async () => {
    const dataDir = join(t.dir, 'data');
    const backupDir = join(t.dir, 'backups');
    mkdirSync(join(dataDir, 'memories'), { recursive: true });
    writeFileSync(join(dataDir, 'memories', 'u.json'), '{}');
    mkdirSync(backupDir);
    writeFileSync(join(backupDir, 'backup_pre_restore_20000101_000000.tar.gz'), 'not ours to remove');
    writeFileSync(join(backupDir, 'notes.txt'), 'operator notes');
    const keep = 3;
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const at = new Date(Date.UTC(2031, 0, 1, 0, 0, i * 10));
      const r = await createBackup({
        dataDir,
        backupDir,
        keep,
        appVersion: 'test',
        now: () => at,
        gzipLevel: 1,
      });
      names.push(r.name);
      expect((await listArchives(backupDir)).filter((a) => a.kind === 'backup')).toHaveLength(
        Math.min(i + 1, keep),
      );
    }
    const left = readdirSync(backupDir).sort();
    expect(left).toEqual(
      [...names.slice(-keep), 'backup_pre_restore_20000101_000000.tar.gz', 'notes.txt'].sort(),
    );
  });
});

describe('npm run backup (the script)', () => {
  const t = tempDir('rea-cli-');
  const dataDir = join(t.dir, 'data');
  const backupDir = join(t.dir, 'backups');
  const env = { DATA_DIR: dataDir, BACKUP_DIR: backupDir, BACKUP_KEEP: '5' };
  beforeAll(() => {
    generateTree(dataDir, 40, { bigFiles: 0 });
  });
  afterAll(() => t.remove());

  it('creates, lists, verifies and restores, printing what it did', async () => {
    const before = hashTree(join(dataDir, 'memories'));
    const created = await runScript('backup', [], env, t.dir);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^backup written: backups\/backup_\d{8}_\d{6}\.tar\.gz$/m);
    expect(created.stdout).toMatch(/files\s+40 /);
    expect(created.stdout).toMatch(/sha256\s+[0-9a-f]{64}/);
    const name = /backups\/(backup_\d{8}_\d{6}\.tar\.gz)/.exec(created.stdout)?.[1] as string;

    const listed = await runScript('backup', ['list'], env, t.dir);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(name);

    const verified = await runScript('backup', ['verify', `backups/${name}`], env, t.dir);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/^OK: backups\/backup_.* is intact/);

    rmSync(join(dataDir, 'memories'), { recursive: true });
    const restored = await runScript('backup', ['restore', name], env, t.dir);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/^restored backups\/backup_.*\.tar\.gz into data$/m);
    expect(restored.stdout).toMatch(/saved\s+the replaced data as backups\/backup_pre_restore_/);
    expect(hashTree(join(dataDir, 'memories'))).toBe(before);
  });
});

describe('long names', () => {
  const t = tempDir('rea-longnames-');
  const dataDir = join(t.dir, 'data');
  afterAll(() => t.remove());

  // A name over 100 bytes goes into a pax record while the ustar header keeps the folder in its
  // prefix field: the pax path is the whole path (the tar package's decoder once joined the two).
  it('restores files whose names or paths are longer than a ustar header holds', async () => {
    const names = [
      `memories/sub/${'m'.repeat(120)}.json`,
      `reports/${'r'.repeat(60)}/${'s'.repeat(70)}/short.md`,
      `reports/${'ü'.repeat(60)}.md`,
    ];
    for (const n of names) {
      mkdirSync(join(dataDir, n, '..'), { recursive: true });
      writeFileSync(join(dataDir, n), `content of ${n}`);
    }
    const tree = () => [hashTree(join(dataDir, 'reports')), hashTree(join(dataDir, 'memories'))];
    const before = tree();
    const made = await createBackup({ dataDir, backupDir: join(t.dir, 'b'), keep: 3, appVersion: 'test' });
    const v = await verifyArchive(made.path, LIMITS);
    expect(v.manifest.files.map((f) => f.path).sort()).toEqual([...names].sort());
    rmSync(join(dataDir, 'reports'), { recursive: true });
    rmSync(join(dataDir, 'memories'), { recursive: true });
    const r = await restoreBackup({
      archive: made.path,
      dataDir,
      backupDir: join(t.dir, 'b'),
      keep: 3,
      appVersion: 'test',
      limits: LIMITS,
    });
    expect(r.fileCount).toBe(names.length);
    expect(tree()).toEqual(before);
  });
});
