import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisConnection } from '../../src/redis/connection.js';
import { UpstreamLimiter } from '../../src/upstream/limiter.js';
import { SharedReservoir } from '../../src/upstream/reservoir.js';
import { testLogger } from '../helpers/logs.js';
import { type OwnRedis, startOwnRedis } from '../helpers/redis-server.js';
import { testConnection } from '../helpers/upstreams.js';

describe('the outbound request budget is shared by instances through Redis', () => {
  const logs = testLogger('reservoir');
  const opened: RedisConnection[] = [];
  let own: OwnRedis | undefined;
  const connect = async (prefix: string, url?: string) => {
    const c = await testConnection(logs.logger, { prefix, url });
    opened.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
    await own?.stop();
    own = undefined;
  });

  it('two instances draw on one reservoir', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}:`;
    const [a, b] = [await connect(prefix), await connect(prefix)];
    const ra = new SharedReservoir({ name: 'realty_us', limit: 3, intervalMs: 500, connection: a });
    const rb = new SharedReservoir({ name: 'realty_us', limit: 3, intervalMs: 500, connection: b });
    for (let i = 0; i < 3; i++) expect((await ra.tryTake()).granted).toBe(true);
    const refused = await rb.tryTake();
    expect(refused.granted).toBe(false);
    expect(refused.waitMs).toBeGreaterThan(0);
    expect(refused.waitMs).toBeLessThanOrEqual(500);
    await rb.take({ deadline: Date.now() + 2000 });
    expect(await a.client.zcard(a.key('upstream', 'realty_us', 'reservoir'))).toBeGreaterThanOrEqual(1);
    expect(await a.client.pttl(a.key('upstream', 'realty_us', 'reservoir'))).toBeLessThanOrEqual(500);
  });

  it('limiters on two instances never exceed the budget in any window', async () => {
    const prefix = `t-${randomUUID().slice(0, 8)}:`;
    const settings = { maxConcurrent: 4, reservoir: 2, reservoirIntervalMs: 400, queueLimit: 10 };
    const la = new UpstreamLimiter({ name: 'overpass', settings, connection: await connect(prefix) });
    const lb = new UpstreamLimiter({ name: 'overpass', settings, connection: await connect(prefix) });
    const starts: number[] = [];
    const job = () => {
      starts.push(Date.now());
      return Promise.resolve();
    };
    await Promise.all([1, 2, 3].flatMap(() => [la.run(job), lb.run(job)]));
    starts.sort((x, y) => x - y);
    expect(starts).toHaveLength(6);
    // Sliding window: the (i+2)-th start is at least one interval after the i-th (small clock tolerance).
    for (let i = 2; i < starts.length; i++)
      expect((starts[i] as number) - (starts[i - 2] as number)).toBeGreaterThanOrEqual(390);
    await Promise.all([la.stop(), lb.stop()]);
  });

  it('keeps working from memory while Redis is down, and returns to Redis', async () => {
    own = await startOwnRedis();
    const c = await connect(`t-${randomUUID().slice(0, 8)}:`, own.url);
    const r = new SharedReservoir({ name: 'nominatim', limit: 1, intervalMs: 300, connection: c });
    expect((await r.tryTake()).granted).toBe(true);
    await own.stop();
    await expect.poll(() => c.mode).toBe('memory');
    const first = await r.tryTake(); // memory log: this instance's first permit
    expect(first.granted).toBe(true);
    const second = await r.tryTake();
    expect(second.granted).toBe(false);
    await own.start();
    await expect.poll(() => c.connected, { timeout: 5000 }).toBe(true);
    await new Promise((res) => setTimeout(res, 310));
    expect((await r.tryTake()).granted).toBe(true);
    expect(await c.client.zcard(c.key('upstream', 'nominatim', 'reservoir'))).toBe(1);
  });
});
