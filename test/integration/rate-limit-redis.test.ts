import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RateLimitedError } from '../../src/core/errors.js';
import { RateLimiter } from '../../src/rate-limit/rate-limiter.js';
import { RedisConnection } from '../../src/redis/connection.js';
import { testLogger } from '../helpers/logs.js';

const RULE = { points: 4, durationSeconds: 30 };

describe('the Redis rate limit', () => {
  let connection: RedisConnection;
  let probe: Redis;
  let limiter: RateLimiter;
  beforeAll(async () => {
    connection = new RedisConnection({
      url: inject('redisUrl'),
      keyPrefix: `t-${randomUUID().slice(0, 8)}:`,
      commandTimeoutMs: 500,
      connectTimeoutMs: 500,
      logger: testLogger('rate-limit').logger,
    });
    connection.start();
    expect(await connection.waitUntilReady(3000)).toBe(true);
    probe = new Redis(inject('redisUrl'));
    limiter = new RateLimiter({
      connection,
      rules: { default: RULE, platforms: new Map(), apiKeys: new Map(), unauthenticated: RULE },
      memoryMaxEntries: 10,
    });
  });
  afterAll(async () => {
    await connection.close();
    probe.disconnect();
  });

  it('counts a fixed window atomically under concurrency and expires it with the window', async () => {
    const settled = await Promise.allSettled(
      Array.from({ length: 20 }, () => limiter.consume({ key: 'burst-user' })),
    );
    const admitted = settled.filter((s) => s.status === 'fulfilled');
    expect(admitted).toHaveLength(RULE.points);
    const refused = settled.filter((s) => s.status === 'rejected');
    expect(refused).toHaveLength(20 - RULE.points);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(RateLimitedError);
    const key = `${connection.key('rl', `${RULE.points}x${RULE.durationSeconds}`)}:burst-user`;
    expect(await probe.get(key)).toBe('20');
    const ttl = await probe.pttl(key);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it("shares one budget with rate-limiter-flexible's RateLimiterRedis (same script, same keys)", async () => {
    // The limiter used RateLimiterRedis before; instances of both versions may run side by side
    // during a rolling upgrade, so both must spend from the same counter.
    const flexible = new RateLimiterRedis({
      storeClient: probe,
      keyPrefix: connection.key('rl', `${RULE.points}x${RULE.durationSeconds}`),
      points: RULE.points,
      duration: RULE.durationSeconds,
    });
    await flexible.consume('mixed-user', 1);
    const ours = await limiter.consume({ key: 'mixed-user' });
    expect(ours.remaining).toBe(RULE.points - 2);
    await flexible.consume('mixed-user', 1);
    await limiter.consume({ key: 'mixed-user' });
    await expect(limiter.consume({ key: 'mixed-user' })).rejects.toBeInstanceOf(RateLimitedError);
    const refusal = await flexible.consume('mixed-user', 1).catch((r: unknown) => r);
    expect(refusal).toBeInstanceOf(RateLimiterRes);
    expect((refusal as RateLimiterRes).consumedPoints).toBe(RULE.points + 2);
  });
});
