import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKey } from '../../src/cache/cache.js';
import { renderStatus } from '../../src/ops/ops-format.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { tempDir } from '../helpers/data-files.js';

describe('the ops service inside a running service', () => {
  const t = tempDir('rea-ops-');
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({
      env: { DATA_DIR: join(t.dir, 'data'), BACKUP_DIR: join(t.dir, 'backups'), BACKUP_KEEP: '2' },
    });
  });
  afterAll(async () => {
    await app.stop();
    t.remove();
  });

  it('exposes the data store: the agent can keep memories and reports', async () => {
    const { data } = app.app.core;
    await data.updateMemory('http:alpha:u1', () => ({ city: 'Austin' }));
    const report = await data.writeReport({
      title: 'Austin picks',
      author: 'http:alpha:u1',
      body: '- 1 Main St',
    });
    expect((await data.getReport(report.id))?.body).toBe('- 1 Main St');
  });

  it('creates and lists backups, and status names the last one', async () => {
    const { ops } = app.app.core;
    const made = await ops.createBackup();
    expect(made.fileCount).toBe(2);
    const list = await ops.listBackups();
    expect(list[0]?.name).toBe(made.name);
    const status = await ops.status();
    expect(status.lastBackup?.name).toBe(made.name);
    expect(status.health?.status).toMatch(/ok|degraded/);
    expect(status.metrics?.requests_total).toBe(0);
    expect(renderStatus(status)).toContain(`backup   last ${made.name}`);
    const v = await ops.verifyBackup(made.name);
    expect(v.fileCount).toBe(2);
  });

  it('clears the running cache (Redis and memory) by pattern', async () => {
    const { cache, ops } = app.app.core;
    await cache.set(cacheKey('realty_us', { q: 1 }), { a: 1 });
    await cache.set(cacheKey('osm', { q: 1 }), { b: 1 });
    const r = await ops.clearCache('realty_us:*');
    expect(r).toMatchObject({ scope: 'service', redisReachable: true, redisDeleted: 1 });
    expect(await cache.get(cacheKey('realty_us', { q: 1 }))).toBeUndefined();
    expect(await cache.get(cacheKey('osm', { q: 1 }))).toEqual({ b: 1 });
    await expect(ops.clearCache('bad\u0000')).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('names a missing archive argument plainly', async () => {
    await expect(app.app.core.ops.verifyBackup(undefined)).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/name the archive/),
    });
    await expect(app.app.core.ops.restoreBackup('backup_20000101_000000.tar.gz')).rejects.toMatchObject({
      code: 'backup_not_found',
    });
  });
});
