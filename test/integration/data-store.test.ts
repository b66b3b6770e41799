import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AppError } from '../../src/core/errors.js';
import type { MemoryData } from '../../src/data/data-store.js';
import { FileDataStore } from '../../src/data/file-data-store.js';
import { userFileName } from '../../src/data/safe-names.js';
import { RedisConnection } from '../../src/redis/connection.js';
import { tempDir } from '../helpers/data-files.js';
import { testLogger } from '../helpers/logs.js';
import { freePort } from '../helpers/redis-server.js';

const logs = testLogger('data-store');

function connection(url: string, prefix: string): RedisConnection {
  return new RedisConnection({
    url,
    keyPrefix: prefix,
    commandTimeoutMs: 1000,
    connectTimeoutMs: 1000,
    logger: logs.logger,
  });
}

/** `n` connections to the shared Redis, ready, under one key prefix (instances of one deployment). */
async function readyConnections(n: number, prefix: string): Promise<RedisConnection[]> {
  const out: RedisConnection[] = [];
  for (let i = 0; i < n; i++) {
    const c = connection(inject('redisUrl'), prefix);
    c.start();
    expect(await c.waitUntilReady(5000)).toBe(true);
    out.push(c);
  }
  return out;
}

describe('reports', () => {
  const t = tempDir('rea-reports-');
  const store = new FileDataStore({ dataDir: t.dir, logger: logs.logger });
  afterAll(() => t.remove());

  it('writes a Markdown report, gets it by id and lists it', async () => {
    const created = new Date('2025-03-04T05:06:07.000Z');
    const s = await store.writeReport({
      title: '3-bed homes in Zürich — "quoted", ünïcode',
      author: 'slack:T1:U2',
      body: '# Findings\n\n- one\n- two\n',
      createdAt: created,
    });
    expect(s.id).toMatch(/^20250304-050607-3-bed-homes-in-zurich-quoted-unicode-[0-9a-f]{8}$/);
    const r = await store.getReport(s.id);
    expect(r).toMatchObject({
      id: s.id,
      title: '3-bed homes in Zürich — "quoted", ünïcode',
      author: 'slack:T1:U2',
      createdAt: created.toISOString(),
      body: '# Findings\n\n- one\n- two\n',
    });
    const file = readFileSync(join(t.dir, 'reports', `${s.id}.md`), 'utf8');
    expect(file).toMatch(
      /^---\nid: ".*"\ntitle: ".*"\nauthor: "slack:T1:U2"\ncreated_at: ".*"\n---\n\n# Findings/,
    );
    await store.writeReport({
      title: 'Second',
      author: 'discord:42',
      body: 'b',
      createdAt: new Date('2025-03-05T00:00:00Z'),
    });
    const all = await store.listReports();
    expect(all.map((x) => x.title)).toEqual(['Second', '3-bed homes in Zürich — "quoted", ünïcode']);
    expect((await store.listReports({ author: 'discord:42' })).map((x) => x.title)).toEqual(['Second']);
    expect(await store.listReports({ limit: 1 })).toHaveLength(1);
  });

  it('never turns a title or id into a path', async () => {
    const s = await store.writeReport({ title: '../../../etc/passwd', author: 'http:k:u', body: 'x' });
    expect(s.id).toMatch(/^\d{8}-\d{6}-etc-passwd-[0-9a-f]{8}$/);
    expect(readdirSync(join(t.dir, 'reports'))).toContain(`${s.id}.md`);
    for (const bad of ['../memories/x', '/etc/passwd', '..', '', 'a/b', `${s.id}/../${s.id}`]) {
      expect(await store.getReport(bad)).toBeUndefined();
    }
    const emptySlug = await store.writeReport({ title: '////', author: 'http:k:u', body: '' });
    expect(emptySlug.id).toMatch(/-report-[0-9a-f]{8}$/);
  });

  it('refuses bad titles, authors and oversized bodies with data_invalid', async () => {
    const bad = [
      { title: 'two\nlines', author: 'a', body: '' },
      { title: '', author: 'a', body: '' },
      { title: 'x'.repeat(201), author: 'a', body: '' },
      { title: 'ok', author: 'bell\u0007', body: '' },
      { title: 'ok', author: 'a', body: 'x'.repeat(4 * 1024 * 1024 + 1) },
    ];
    for (const r of bad) {
      await expect(store.writeReport(r)).rejects.toMatchObject({ code: 'data_invalid' });
    }
  });
});

describe('memories', () => {
  const t = tempDir('rea-memories-');
  const store = new FileDataStore({ dataDir: t.dir, logger: logs.logger });
  afterAll(() => t.remove());

  it('reads, updates and forgets a user', async () => {
    expect(await store.readMemory('slack:T1:U1')).toBeUndefined();
    const first = await store.updateMemory('slack:T1:U1', (cur) => ({ ...cur, budget: 500_000 }));
    expect(first).toMatchObject({ userId: 'slack:T1:U1', revision: 1, data: { budget: 500_000 } });
    const second = await store.updateMemory('slack:T1:U1', (cur) => ({ ...cur, city: 'Austin' }));
    expect(second).toMatchObject({ revision: 2, data: { budget: 500_000, city: 'Austin' } });
    expect((await store.readMemory('slack:T1:U1'))?.data).toEqual({ budget: 500_000, city: 'Austin' });
    expect(await store.deleteMemory('slack:T1:U1')).toBe(true);
    expect(await store.deleteMemory('slack:T1:U1')).toBe(false);
    expect(await store.readMemory('slack:T1:U1')).toBeUndefined();
  });

  it('keeps every user id inside memories/ with a bounded, separator-free name', async () => {
    const ids = ['../../etc/passwd', '/abs/path', 'a\\b', '..', 'ü'.repeat(256), 'http:key:..'];
    for (const id of ids) await store.updateMemory(id, () => ({ id }));
    const names = readdirSync(join(t.dir, 'memories'));
    expect(names).toHaveLength(ids.length);
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9_-]{1,65}\.json$/);
    for (const id of ids) expect((await store.readMemory(id))?.data).toEqual({ id });
  });

  it('refuses bad user ids and values with data_invalid', async () => {
    for (const id of ['', 'x'.repeat(257), 'tab\tin', 'nul\0', '\ud800lone']) {
      await expect(store.readMemory(id)).rejects.toMatchObject({ code: 'data_invalid' });
    }
    await expect(store.updateMemory('u', () => [] as unknown as MemoryData)).rejects.toMatchObject({
      code: 'data_invalid',
    });
    await expect(store.updateMemory('u', () => ({ big: 'x'.repeat(1024 * 1024) }))).rejects.toMatchObject({
      code: 'data_invalid',
    });
  });

  it('reports a corrupt memory file and never overwrites it', async () => {
    await store.updateMemory('victim', () => ({ a: 1 }));
    const [file] = readdirSync(join(t.dir, 'memories')).filter((n) => n.startsWith('victim-'));
    const path = join(t.dir, 'memories', file as string);
    writeFileSync(path, '{"trunc');
    await expect(store.readMemory('victim')).rejects.toMatchObject({ code: 'data_corrupt' });
    await expect(store.updateMemory('victim', () => ({ b: 2 }))).rejects.toBeInstanceOf(AppError);
    expect(readFileSync(path, 'utf8')).toBe('{"trunc');
  });
});

describe('concurrent memory updates', () => {
  const t = tempDir('rea-concurrency-');
  const prefix = `t-${randomUUID().slice(0, 8)}:`;
  const connections: RedisConnection[] = [];
  beforeAll(async () => {
    connections.push(...(await readyConnections(2, prefix)));
  });
  afterAll(async () => {
    for (const c of connections) await c.close();
    t.remove();
  });

  const append = (n: number) => async (cur: MemoryData | undefined) => {
    // Yield between read and write so that unserialised updates would interleave and lose items.
    await new Promise((r) => setTimeout(r, Math.random() * 3));
    return { items: [...((cur?.items as number[] | undefined) ?? []), n] };
  };

  it('100 concurrent updates of one user in one process: none lost', async () => {
    const store = new FileDataStore({
      dataDir: join(t.dir, 'one'),
      logger: logs.logger,
      connection: connections[0],
    });
    await Promise.all(Array.from({ length: 100 }, (_, n) => store.updateMemory('slack:T:U', append(n))));
    const m = await store.readMemory('slack:T:U');
    expect(m?.revision).toBe(100);
    expect(((m?.data.items ?? []) as number[]).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, n) => n),
    );
  });

  it('100 concurrent updates from two instances sharing the data folder and Redis: none lost', async () => {
    const dir = join(t.dir, 'two');
    const a = new FileDataStore({ dataDir: dir, logger: logs.logger, connection: connections[0] });
    const b = new FileDataStore({ dataDir: dir, logger: logs.logger, connection: connections[1] });
    await Promise.all(
      Array.from({ length: 100 }, (_, n) => (n % 2 === 0 ? a : b).updateMemory('discord:7', append(n))),
    );
    const m = await a.readMemory('discord:7');
    expect(m?.revision).toBe(100);
    expect(((m?.data.items ?? []) as number[]).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 100 }, (_, n) => n),
    );
    // The Redis locks were released.
    const c = connections[0] as RedisConnection;
    expect(await c.client.exists(c.key('lock', `memory:${userFileName('discord:7')}`))).toBe(0);
  });

  it('with Redis unreachable, updates in one process are still serialised', async () => {
    const down = connection(`redis://127.0.0.1:${await freePort()}`, prefix);
    const store = new FileDataStore({
      dataDir: join(t.dir, 'degraded'),
      logger: logs.logger,
      connection: down,
    });
    await Promise.all(Array.from({ length: 100 }, (_, n) => store.updateMemory('http:k:u', append(n))));
    expect((await store.readMemory('http:k:u'))?.revision).toBe(100);
    await down.close();
  });
});

describe('memory copies (instances sharing DATA_DIR and Redis)', () => {
  const t = tempDir('rea-copies-');
  const prefix = `t-${randomUUID().slice(0, 8)}:`;
  const connections: RedisConnection[] = [];
  let a: FileDataStore;
  let b: FileDataStore;
  const fileOf = (userId: string) => join(t.dir, 'memories', `${userFileName(userId)}.json`);
  /** Rewrites a memory file behind the stores' backs, keeping its version (revision and time). */
  const rewriteKeepingVersion = (userId: string, data: MemoryData) => {
    const stored = JSON.parse(readFileSync(fileOf(userId), 'utf8'));
    writeFileSync(fileOf(userId), JSON.stringify({ ...stored, data }));
  };
  beforeAll(async () => {
    connections.push(...(await readyConnections(2, prefix)));
    a = new FileDataStore({ dataDir: t.dir, logger: logs.logger, connection: connections[0] });
    b = new FileDataStore({ dataDir: t.dir, logger: logs.logger, connection: connections[1] });
  });
  afterAll(async () => {
    for (const c of connections) await c.close();
    t.remove();
  });

  it("sees another instance's writes and erasure from the next read, and answers unchanged reads from its copy", async () => {
    const u = 'slack:T9:U1';
    expect(await a.readMemory(u)).toBeUndefined();
    await b.updateMemory(u, () => ({ budget: 1 }));
    expect((await a.readMemory(u))?.data).toEqual({ budget: 1 }); // b's write published a new version
    // Same version in Redis: a answers from its copy, not the file (changed here behind everyone's back).
    rewriteKeepingVersion(u, { budget: 'not read' });
    const copy = await a.readMemory(u);
    expect(copy?.data).toEqual({ budget: 1 });
    (copy?.data as { budget: unknown }).budget = 'changed by a caller';
    expect((await a.readMemory(u))?.data).toEqual({ budget: 1 }); // each reader gets its own record
    await b.updateMemory(u, (cur) => ({ ...cur, city: 'Austin' }));
    expect((await a.readMemory(u))?.data).toEqual({ budget: 'not read', city: 'Austin' });
    expect(await b.deleteMemory(u)).toBe(true); // "forget me" on the other instance
    expect(await a.readMemory(u)).toBeUndefined();
  });

  it('keeps no copy when the file read does not carry the version Redis answered (a write racing the read)', async () => {
    const u = 'discord:race';
    await a.updateMemory(u, () => ({ n: 1 }));
    // As if another instance's write were published while this file was still the old one.
    const c = connections[0] as RedisConnection;
    await c.client.set(c.key('memory-version', userFileName(u)), '2@2099-01-01T00:00:00.000Z');
    expect((await a.readMemory(u))?.data).toEqual({ n: 1 });
    rewriteKeepingVersion(u, { n: 'from the file' });
    expect((await a.readMemory(u))?.data).toEqual({ n: 'from the file' }); // read again: nothing was kept
  });

  it('drops copies after memoryCopySeconds, and reads the file every time without Redis', async () => {
    const short = new FileDataStore({
      dataDir: t.dir,
      logger: logs.logger,
      connection: connections[0],
      memoryCopySeconds: 0.3,
    });
    const u = 'http:k:expiry';
    await short.updateMemory(u, () => ({ v: 1 }));
    expect((await short.readMemory(u))?.data).toEqual({ v: 1 });
    rewriteKeepingVersion(u, { v: 2 });
    expect((await short.readMemory(u))?.data).toEqual({ v: 1 });
    await new Promise((r) => setTimeout(r, 350));
    expect((await short.readMemory(u))?.data).toEqual({ v: 2 });

    const down = connection(`redis://127.0.0.1:${await freePort()}`, prefix);
    const degraded = new FileDataStore({ dataDir: t.dir, logger: logs.logger, connection: down });
    try {
      expect((await degraded.readMemory(u))?.data).toEqual({ v: 2 });
      rewriteKeepingVersion(u, { v: 3 });
      expect((await degraded.readMemory(u))?.data).toEqual({ v: 3 });
    } finally {
      await down.close();
    }
  });
});
