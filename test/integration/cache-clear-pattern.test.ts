import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { cacheClearPattern } from '../../src/cache/cache.js';
import { configFrom } from '../../src/config/config.js';
import { runScript } from '../helpers/cli.js';
import { tempDir } from '../helpers/data-files.js';
import { freePort } from '../helpers/redis-server.js';

const url = inject('redisUrl');
const prefix = `t-${randomUUID().slice(0, 8)}:`;
const otherApp = `other-${randomUUID().slice(0, 8)}:`;
let redis: Redis;

async function seed(): Promise<void> {
  const p = redis.pipeline();
  for (let i = 0; i < 1500; i++) p.set(`${prefix}cache:realty_us:${i.toString(16).padStart(32, '0')}`, '{}');
  for (let i = 0; i < 20; i++) p.set(`${prefix}cache:osm:${i}`, '{}');
  p.set(`${prefix}rl:http:alpha:u1`, '5');
  p.set(`${prefix}idem:abc`, '{}');
  p.set(`${otherApp}cache:realty_us:1`, 'not ours');
  p.set(`realty_us:bare`, 'not ours either');
  await p.exec();
}

async function count(pattern: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

const config = () => configFrom({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix });

beforeAll(async () => {
  redis = new Redis(url);
});
afterAll(async () => {
  await redis.del(`${otherApp}cache:realty_us:1`, 'realty_us:bare');
  redis.disconnect();
});

describe('cacheClearPattern (the runbook cache_clear_pattern)', () => {
  beforeEach(seed);

  it('deletes only the matching cache entries of this service', async () => {
    const r = await cacheClearPattern('realty_us:*', { config: config() });
    expect(r.deleted).toBe(1500);
    expect(r.keyPattern).toBe(`${prefix}cache:realty_us:*`);
    expect(await count(`${prefix}cache:realty_us:*`)).toBe(0);
    expect(await count(`${prefix}cache:osm:*`)).toBe(20);
    expect(await redis.get(`${prefix}rl:http:alpha:u1`)).toBe('5');
    expect(await redis.get(`${otherApp}cache:realty_us:1`)).toBe('not ours');
  });

  it('"*" empties the cache and nothing else: rate limits, de-duplication and other applications survive', async () => {
    const r = await cacheClearPattern('*', { config: config() });
    expect(r.deleted).toBe(1520);
    expect(await count(`${prefix}cache:*`)).toBe(0);
    expect(await redis.get(`${prefix}rl:http:alpha:u1`)).toBe('5');
    expect(await redis.get(`${prefix}idem:abc`)).toBe('{}');
    expect(await redis.get(`${otherApp}cache:realty_us:1`)).toBe('not ours');
    expect(await redis.get('realty_us:bare')).toBe('not ours either');
  });

  it('says plainly when Redis is unreachable, without leaking the password', async () => {
    const port = await freePort();
    const down = configFrom({
      REDIS_URL: `redis://:s3cret-pass-word@127.0.0.1:${port}`,
      REDIS_CONNECT_TIMEOUT_MS: '200',
    });
    const err = (await cacheClearPattern('*', { config: down }).then(
      () => new Error('resolved'),
      (e: unknown) => e,
    )) as Error & { code: string };
    expect(err).toMatchObject({ code: 'redis_unavailable' });
    expect(err.message).toBe(
      `Redis at 127.0.0.1:${port} is unreachable: no cache entry was cleared (check REDIS_URL and that Redis runs; a running service's in-memory cache is cleared with /realty-clear-cache)`,
    );
    expect(err.message).not.toContain('s3cret');
  });

  it('refuses an invalid pattern', async () => {
    await expect(cacheClearPattern('bad\npattern', { config: config() })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(cacheClearPattern('', { config: config() })).rejects.toMatchObject({
      code: 'validation_failed',
    });
  });
});

describe('npm run cache:clear (the script)', () => {
  const t = tempDir('rea-cacheclear-');
  afterAll(() => t.remove());
  beforeEach(seed);

  it("clears the default 'realty_us:*' and prints how many entries went", async () => {
    const r = await runScript('cache-clear', [], { REDIS_URL: url, REDIS_KEY_PREFIX: prefix }, t.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(
      `cleared 1500 cache entries matching "realty_us:*" from Redis at ${new URL(url).host}`,
    );
    expect(await count(`${prefix}cache:osm:*`)).toBe(20);
  });

  it('takes a pattern, and exits 6 with a plain message when Redis is unreachable', async () => {
    const ok = await runScript('cache-clear', ['osm:*'], { REDIS_URL: url, REDIS_KEY_PREFIX: prefix }, t.dir);
    expect(ok.stdout).toMatch(/^cleared 20 cache entries matching "osm:\*"/);
    const port = await freePort();
    const down = await runScript(
      'cache-clear',
      ['*'],
      { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CONNECT_TIMEOUT_MS: '200' },
      t.dir,
    );
    expect(down.code).toBe(6);
    expect(down.stderr).toMatch(
      /^cache:clear: Redis at 127\.0\.0\.1:\d+ is unreachable: no cache entry was cleared/,
    );
    const usage = await runScript('cache-clear', ['a*', 'b*'], { REDIS_URL: url }, t.dir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/one pattern at a time.*unquoted/);
  });
});
