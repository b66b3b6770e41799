import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/backup/create-backup.js';
import { INDEX_PROBE_BYTES, indexedMemberLength } from '../../src/backup/gzip-index.js';
import { restoreBackup } from '../../src/backup/restore-backup.js';
import { verifyArchive } from '../../src/backup/verify-backup.js';
import { generateTree, hashTree, tempDir } from '../helpers/data-files.js';

const LIMITS = { maxFileBytes: 64 * 1024 * 1024, maxTotalBytes: 1024 * 1024 * 1024 };

describe('the gzip member index', () => {
  const t = tempDir('rea-gzip-index-');
  const source = join(t.dir, 'source');
  let archive: Buffer;
  let before: string;
  const contents = (dir: string) => `${hashTree(join(dir, 'reports'))} ${hashTree(join(dir, 'memories'))}`;

  beforeAll(async () => {
    generateTree(source, 300, { bigFiles: 3 });
    before = contents(source);
    const made = await createBackup({
      dataDir: source,
      backupDir: join(t.dir, 'backups'),
      keep: 3,
      appVersion: 'test',
    });
    archive = readFileSync(made.path);
  });
  afterAll(() => t.remove());

  /** Restores `bytes` (as an archive file) into a fresh data folder and returns the hash of its data. */
  async function restored(name: string, bytes: Buffer): Promise<string> {
    const file = join(t.dir, `${name}.tar.gz`);
    writeFileSync(file, bytes);
    const dataDir = join(t.dir, `data-${name}`);
    mkdirSync(dataDir);
    await restoreBackup({
      archive: file,
      dataDir,
      backupDir: join(t.dir, `b-${name}`),
      keep: 3,
      appVersion: 'test',
      limits: LIMITS,
    });
    return contents(dataDir);
  }

  it('every member of our archives records its own length, up to the end of the file', () => {
    let members = 0;
    for (let at = 0; at < archive.length; members++) {
      const length = indexedMemberLength(archive.subarray(at, at + INDEX_PROBE_BYTES));
      expect(length, `member at byte ${at}`).toBeGreaterThan(0);
      at += length as number;
      expect(at).toBeLessThanOrEqual(archive.length);
    }
    expect(members).toBeGreaterThan(2);
    expect(spawnSync('gzip', ['-t'], { input: archive }).status).toBe(0);
  });

  it('restores with the index, without it (one plain gzip stream, as GNU tar writes) and zero-padded alike', async () => {
    const plain = gzipSync(gunzipSync(archive));
    expect(indexedMemberLength(plain.subarray(0, INDEX_PROBE_BYTES))).toBeUndefined();
    expect(await restored('indexed', archive)).toBe(before);
    expect(await restored('plain', plain)).toBe(before);
    expect(await restored('padded', Buffer.concat([archive, Buffer.alloc(4096)]))).toBe(before);
    const v = await verifyArchive(join(t.dir, 'plain.tar.gz'), LIMITS);
    expect(v.fileCount).toBe(300);
  });
});
