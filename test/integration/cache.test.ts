import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Cache, cacheKey } from '../../src/cache/cache.js';
import { configFrom } from '../../src/config/config.js';
import { IdempotencyStore } from '../../src/dedup/idempotency-store.js';
import { RateLimiter } from '../../src/rate-limit/rate-limiter.js';
import { RedisConnection } from '../../src/redis/connection.js';
import { testLogger } from '../helpers/logs.js';

function connect(url = inject('redisUrl'), localSeconds?: number) {
  const { logger } = testLogger('cache');
  const connection = new RedisConnection({
    url,
    keyPrefix: `t-${randomUUID().slice(0, 8)}:`,
    commandTimeoutMs: 500,
    connectTimeoutMs: 500,
    logger,
  });
  connection.start();
  const lookups: { source: string; hit: boolean }[] = [];
  const cache = new Cache({
    connection,
    defaultTtlSeconds: 60,
    memoryMaxEntries: 100,
    localSeconds,
    logger,
    onLookup: (source, hit) => lookups.push({ source, hit }),
  });
  return { connection, cache, lookups };
}

describe('cache against a real Redis', () => {
  let c: ReturnType<typeof connect>;
  let probe: Redis;
  beforeAll(async () => {
    c = connect();
    expect(await c.connection.waitUntilReady(3000)).toBe(true);
    probe = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    await c.connection.close();
    probe.disconnect();
  });

  it('stores JSON with a TTL and names entries <source>:<hash>', async () => {
    const name = cacheKey('realty_us', { city: 'Austin', beds: 3 });
    expect(name).toMatch(/^realty_us:[0-9a-f]{32}$/);
    expect(cacheKey('realty_us', { beds: 3, city: 'Austin' })).toBe(name);
    await c.cache.set(name, { listings: [1, 2] }, 30);
    expect(await c.cache.get(name)).toEqual({ listings: [1, 2] });
    const ttl = await probe.pttl(`${c.connection.keyPrefix}cache:${name}`);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it('runs the loader once for 50 concurrent misses of one key', async () => {
    let runs = 0;
    const name = cacheKey('realty_us', { q: randomUUID() });
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        c.cache.wrap(name, async () => {
          runs++;
          await new Promise((r) => setTimeout(r, 50));
          return { answer: 42 };
        }),
      ),
    );
    expect(runs).toBe(1);
    expect(results.every((r) => r.value.answer === 42)).toBe(true);
    const again = await c.cache.wrap(name, async () => {
      runs++;
      return { answer: 0 };
    });
    expect(again).toEqual({ value: { answer: 42 }, cached: true });
    expect(runs).toBe(1);
  });

  it('lets one caller leave without aborting the load for the others; the last to leave aborts it', async () => {
    const name = cacheKey('realty_us', { q: randomUUID() });
    let loadSignal: AbortSignal | undefined;
    let release: (v: string) => void = () => undefined;
    const loader = (signal: AbortSignal) => {
      loadSignal = signal;
      return new Promise<string>((resolve) => {
        release = resolve;
      });
    };
    const leaving = new AbortController();
    const first = c.cache.wrap(name, loader, { signal: leaving.signal });
    const second = c.cache.wrap(name, loader);
    await new Promise((r) => setTimeout(r, 20));
    leaving.abort(new Error('caller gone'));
    await expect(first).rejects.toThrow('caller gone');
    expect(loadSignal?.aborted).toBe(false);
    release('done');
    expect(await second).toEqual({ value: 'done', cached: false });

    const other = cacheKey('realty_us', { q: randomUUID() });
    const alone = new AbortController();
    const abandoned = c.cache.wrap(other, loader, { signal: alone.signal });
    await new Promise((r) => setTimeout(r, 20));
    alone.abort(new Error('nobody waits'));
    await expect(abandoned).rejects.toThrow('nobody waits');
    expect(loadSignal?.aborted).toBe(true);
    // The abandoned load was forgotten: a new caller starts afresh.
    const fresh = c.cache.wrap(other, async () => 'again');
    expect(await fresh).toEqual({ value: 'again', cached: false });
  });

  it('never caches a loader error', async () => {
    const name = cacheKey('realty_us', { q: randomUUID() });
    await expect(c.cache.wrap(name, async () => Promise.reject(new Error('upstream 500')))).rejects.toThrow(
      'upstream 500',
    );
    const ok = await c.cache.wrap(name, async () => 'fine');
    expect(ok).toEqual({ value: 'fine', cached: false });
  });

  it('treats a corrupt entry as a miss and removes it', async () => {
    const name = cacheKey('realty_us', { q: 'corrupt' });
    const key = `${c.connection.keyPrefix}cache:${name}`;
    await probe.set(key, '{"not json', 'EX', 60);
    const before = c.lookups.length;
    expect(await c.cache.get(name)).toBeUndefined();
    expect(c.lookups.slice(before)).toEqual([{ source: 'realty_us', hit: false }]);
    expect(await probe.exists(key)).toBe(0);
  });

  it("cacheClearPattern('realty_us:*') removes those entries only", async () => {
    const p = c.connection.keyPrefix;
    for (let i = 0; i < 2500; i++) await c.cache.set(`realty_us:${i.toString(16).padStart(8, '0')}`, i);
    await c.cache.set('nominatim:abc', { lat: 1 });
    const limiter = new RateLimiter({
      connection: c.connection,
      rules: configFrom().rateLimits,
      memoryMaxEntries: 10,
    });
    await limiter.consume({ key: 'http:alpha:u1' });
    const dedup = new IdempotencyStore({ connection: c.connection, memoryMaxEntries: 10 });
    await dedup.claim('slack', 'Ev123', 'fp', 60_000);
    await probe.set('other-app:realty_us:keep', '1');
    await probe.set('realty_us:not-ours', '1');
    const rlKeys = async () => (await probe.keys(`${p}rl:*`)).length;
    expect(await rlKeys()).toBe(1);

    const present = (await probe.keys(`${p}cache:realty_us:*`)).length;
    expect(present).toBeGreaterThanOrEqual(2500);
    const result = await c.cache.clearPattern('realty_us:*');
    expect(result).toEqual({ redisDeleted: present, memoryDeleted: 0, redisReachable: true });
    expect(await probe.keys(`${p}cache:realty_us:*`)).toEqual([]);
    expect(await c.cache.get('nominatim:abc')).toEqual({ lat: 1 });
    expect(await rlKeys()).toBe(1);
    expect(await probe.exists(`${p}dedup:slack:Ev123`)).toBe(1);
    expect(await probe.get('other-app:realty_us:keep')).toBe('1');
    expect(await probe.get('realty_us:not-ours')).toBe('1');

    const all = await c.cache.clearPattern('*');
    expect(all.redisDeleted).toBe(1);
    expect(await probe.keys(`${p}cache:*`)).toEqual([]);
    expect(await rlKeys()).toBe(1);
    await probe.del('other-app:realty_us:keep', 'realty_us:not-ours');
  });

  it('refuses patterns that are empty, huge or contain control characters', async () => {
    await expect(c.cache.clearPattern('')).rejects.toThrow(RangeError);
    await expect(c.cache.clearPattern('x'.repeat(300))).rejects.toThrow(RangeError);
    await expect(c.cache.clearPattern('a\r\nFLUSHALL')).rejects.toThrow(RangeError);
  });
});

describe('the local layer of wrap (CACHE_LOCAL_SECONDS)', () => {
  let c: ReturnType<typeof connect>;
  let probe: Redis;
  let monitor: Redis;
  /** GETs of the cache's keys that reached Redis while `fn` ran. */
  async function redisGets(fn: () => Promise<unknown>): Promise<number> {
    const seen: string[] = [];
    const onMonitor = (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'get' && args[1]?.startsWith(c.connection.keyPrefix)) seen.push(args[1]);
    };
    const m = await monitor.monitor();
    m.on('monitor', onMonitor);
    try {
      await fn();
      await probe.ping(); // MONITOR lines of the commands above arrive before this PING's answer
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      m.disconnect();
    }
    return seen.length;
  }
  beforeAll(async () => {
    c = connect(inject('redisUrl'), 0.4);
    expect(await c.connection.waitUntilReady(3000)).toBe(true);
    probe = new Redis(inject('redisUrl'));
    monitor = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    await c.connection.close();
    probe.disconnect();
    monitor.disconnect();
  });

  it('answers a repeated lookup without Redis, each caller with its own copy, and not past its time', async () => {
    const name = cacheKey('realty_us', { q: randomUUID() });
    let loads = 0;
    const loader = async () => {
      loads++;
      return { listings: [{ price: 1 }] };
    };
    expect(await c.cache.wrap(name, loader)).toEqual({ value: { listings: [{ price: 1 }] }, cached: false });
    const before = c.lookups.length;
    const gets = await redisGets(async () => {
      const a = await c.cache.wrap(name, loader);
      const first = a.value.listings[0];
      if (first) first.price = 99; // a caller's own copy
      expect(await c.cache.wrap(name, loader)).toEqual({ value: { listings: [{ price: 1 }] }, cached: true });
    });
    expect(gets).toBe(0);
    expect(loads).toBe(1);
    expect(c.lookups.slice(before)).toEqual([
      { source: 'realty_us', hit: true },
      { source: 'realty_us', hit: true },
    ]);
    // Deleted in Redis by another process: the local copy answers until its time is up, then Redis.
    await probe.del(`${c.connection.keyPrefix}cache:${name}`);
    expect((await c.cache.wrap(name, loader)).cached).toBe(true);
    await new Promise((r) => setTimeout(r, 450));
    expect(await c.cache.wrap(name, loader)).toEqual({ value: { listings: [{ price: 1 }] }, cached: false });
    expect(loads).toBe(2);
  });

  it('keeps an entry read from Redis, and drops it at once on clearPattern, delete and set here', async () => {
    const name = cacheKey('realty_us', { q: randomUUID() });
    const key = `${c.connection.keyPrefix}cache:${name}`;
    await probe.set(key, JSON.stringify('from redis'), 'EX', 60);
    const fail = async (): Promise<string> => {
      throw new Error('loader must not run');
    };
    expect(await c.cache.wrap(name, fail)).toEqual({ value: 'from redis', cached: true });
    expect(await redisGets(() => c.cache.wrap(name, fail))).toBe(0);

    await c.cache.clearPattern('realty_us:*');
    expect(await c.cache.wrap(name, async () => 'loaded')).toEqual({ value: 'loaded', cached: false });
    await c.cache.delete(name);
    expect(await c.cache.wrap(name, async () => 'again')).toEqual({ value: 'again', cached: false });
    await c.cache.set(name, 'set here');
    expect(await c.cache.wrap(name, fail)).toEqual({ value: 'set here', cached: true });
    expect(JSON.parse((await probe.get(key)) as string)).toBe('set here');
  });

  it('keeps no entry larger than its bound (8 MiB): that one is read from Redis each time', async () => {
    const name = cacheKey('realty_us', { q: randomUUID() });
    const big = 'x'.repeat(9 * 1024 * 1024);
    await c.cache.wrap(name, async () => big);
    expect(
      await redisGets(async () => expect((await c.cache.wrap(name, async () => '')).value).toBe(big)),
    ).toBe(1);
    await c.cache.delete(name);
  });

  it('is off by default, and never holds an entry longer than its TTL', async () => {
    const off = connect(inject('redisUrl'));
    try {
      expect(await off.connection.waitUntilReady(3000)).toBe(true);
      const name = cacheKey('realty_us', { q: randomUUID() });
      await off.cache.wrap(name, async () => 1);
      await probe.del(`${off.connection.keyPrefix}cache:${name}`);
      expect(await off.cache.wrap(name, async () => 2)).toEqual({ value: 2, cached: false });
    } finally {
      await off.connection.close();
    }
    const short = cacheKey('realty_us', { q: randomUUID() });
    await c.cache.wrap(short, async () => 'short', { ttlSeconds: 0.1 });
    await new Promise((r) => setTimeout(r, 200));
    expect(await c.cache.wrap(short, async () => 'reloaded')).toEqual({ value: 'reloaded', cached: false });
  });
});

describe('cache in memory mode', () => {
  it('serves from a bounded memory store and clears it by pattern', async () => {
    const c = connect('redis://127.0.0.1:1');
    try {
      for (let i = 0; i < 150; i++) await c.cache.set(`realty_us:${i}`, i);
      await c.cache.set('nominatim:x', 'x');
      expect(await c.cache.get('realty_us:149')).toBe(149);
      expect(await c.cache.get('realty_us:0')).toBeUndefined(); // evicted: the store holds 100
      const r = await c.cache.clearPattern('realty_us:12?');
      expect(r).toEqual({ redisDeleted: 0, memoryDeleted: 10, redisReachable: false });
      expect(await c.cache.get('realty_us:125')).toBeUndefined();
      expect(await c.cache.get('realty_us:130')).toBe(130);
      expect(await c.cache.get('nominatim:x')).toBe('x');
    } finally {
      await c.connection.close();
    }
  });
});
