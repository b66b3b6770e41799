import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ArchiveInfo } from '../../src/backup/archive-files.js';
import { createBackup } from '../../src/backup/create-backup.js';
import { renderBackup, renderClear, renderList } from '../../src/ops/ops-format.js';
import type { ClearCacheResult } from '../../src/ops/ops-service.js';
import { tempDir } from '../helpers/data-files.js';

const clear = (over: Partial<ClearCacheResult>): ClearCacheResult => ({
  pattern: 'realty_us:*',
  redisDeleted: 0,
  memoryDeleted: 0,
  redisReachable: true,
  scope: 'redis',
  redis: '127.0.0.1:6379',
  durationMs: 1,
  ...over,
});

describe('ops renderings count in words', () => {
  it('says "1 cache entry", "2 cache entries", "1 entry" and "0 entries"', () => {
    expect(renderClear(clear({ redisDeleted: 1 }))).toBe(
      'cleared 1 cache entry matching "realty_us:*" from Redis at 127.0.0.1:6379',
    );
    expect(renderClear(clear({ redisDeleted: 2 }))).toMatch(/^cleared 2 cache entries matching/);
    expect(renderClear(clear({ scope: 'service', redisReachable: false, memoryDeleted: 1 }))).toMatch(
      /cleared 1 entry matching "realty_us:\*" from the in-memory cache only$/,
    );
    expect(renderClear(clear({ scope: 'service', redisReachable: false }))).toMatch(/cleared 0 entries/);
  });

  it('says "1 archive" and "2 archives"', () => {
    const archive: ArchiveInfo = {
      name: 'backup_20261130_003241.tar.gz',
      path: '/b/backup_20261130_003241.tar.gz',
      kind: 'backup',
      createdAt: '2026-11-30T00:32:41.000Z',
      sizeBytes: 923,
    };
    expect(renderList([archive], '/b', 14)).toMatch(/^1 archive in \/b, newest first/);
    expect(renderList([archive, { ...archive, name: 'backup_20261130_003242.tar.gz' }], '/b', 14)).toMatch(
      /^2 archives in \/b, newest first/,
    );
  });

  const t = tempDir('rea-ops-format-');
  afterAll(() => t.remove());

  it('says "1 folder" and "the newest 1 backup" for a real one-file backup kept alone', async () => {
    const dataDir = join(t.dir, 'data');
    mkdirSync(join(dataDir, 'reports'), { recursive: true });
    writeFileSync(join(dataDir, 'reports', 'r.md'), '# one\n');
    const made = await createBackup({ dataDir, backupDir: join(t.dir, 'b'), keep: 1, appVersion: 'test' });
    const text = renderBackup(made, 1);
    expect(text).toMatch(/^ {2}files {4}1 \(6 bytes of data, 1 folder\)$/m);
    expect(text).toMatch(/^ {2}kept {5}the newest 1 backup$/m);
  });
});
