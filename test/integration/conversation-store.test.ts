import { afterEach, describe, expect, it } from 'vitest';
import { ConversationStore } from '../../src/agent/conversation-store.js';
import { TokenBudget } from '../../src/agent/token-budget.js';
import type { RedisConnection } from '../../src/redis/connection.js';
import { testLogger } from '../helpers/logs.js';
import { scanKeys, testConnection } from '../helpers/upstreams.js';

const turn = (n: number, size = 10) => ({ user: `q${n} ${'x'.repeat(size)}`, assistant: `a${n}`, at: n });

describe('conversation store', () => {
  const connections: RedisConnection[] = [];
  afterEach(async () => {
    for (const c of connections.splice(0)) await c.close();
  });
  const connect = async (wait = true) => {
    const c = await testConnection(testLogger('conversations').logger, { wait });
    connections.push(c);
    return c;
  };
  const store = (connection: RedisConnection, maxTokens = 10_000) =>
    new ConversationStore({ connection, ttlSeconds: 60, maxTokens, memoryMaxEntries: 100, maxTurns: 5 });

  it('keeps turns per user AND conversation in Redis with a TTL, at most maxTurns', async () => {
    const c = await connect();
    const s = store(c);
    for (let i = 1; i <= 7; i++) await s.append('slack:T1:U1', 'thread-1', turn(i));
    await s.append('slack:T1:U2', 'thread-1', turn(99));
    expect((await s.recent('slack:T1:U1', 'thread-1')).map((t) => t.at)).toEqual([3, 4, 5, 6, 7]);
    expect((await s.recent('slack:T1:U2', 'thread-1')).map((t) => t.at)).toEqual([99]);
    expect(await s.recent('slack:T1:U1', 'thread-2')).toEqual([]);
    const keys = await scanKeys(c.client, `${c.keyPrefix}conv:*`);
    expect(keys).toHaveLength(2);
    // Ids are hashed into the key: nothing of the user id or the conversation id shows.
    expect(keys.join()).not.toMatch(/slack|thread/);
    for (const k of keys) {
      const ttl = await c.client.pttl(k);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('returns the newest turns that fit the token budget (characters / 4)', async () => {
    const s = store(await connect(), 40);
    for (let i = 1; i <= 5; i++) await s.append('u', 'c', turn(i, 40)); // ~12 + ~5 tokens a turn
    expect((await s.recent('u', 'c')).map((t) => t.at)).toEqual([4, 5]);
    expect(await store(connections[0] as RedisConnection, 0).recent('u', 'c')).toEqual([]);
  });

  it("erases every conversation of one user, and only that user's", async () => {
    const c = await connect();
    const s = store(c);
    await s.append('u1', 'a', turn(1));
    await s.append('u1', 'b', turn(2));
    await s.append('u2', 'a', turn(3));
    expect(await s.eraseUser('u1')).toEqual({ deleted: 2, redisReachable: true });
    expect(await s.recent('u1', 'a')).toEqual([]);
    expect(await s.recent('u1', 'b')).toEqual([]);
    expect(await s.recent('u2', 'a')).toHaveLength(1);
    expect(await s.eraseUser('u1')).toEqual({ deleted: 0, redisReachable: true });
  });

  it('drops the turn of a message that was running when its user asked to be forgotten, on any instance', async () => {
    const a = await connect();
    const b = await testConnection(testLogger('conversations').logger, { prefix: a.keyPrefix });
    connections.push(b);
    const here = store(a);
    const there = store(b);
    const startedBefore = Date.now() - 1000;
    await here.eraseUser('u1');
    const late = { user: 'my salary is 90k', assistant: 'Noted.', at: Date.now() };
    await here.append('u1', 'c', late, startedBefore);
    await there.append('u1', 'c', late, startedBefore);
    expect(await there.recent('u1', 'c')).toEqual([]);
    expect(await scanKeys(a.client, `${a.keyPrefix}conv:*`)).toEqual([]);
    // A message that started after the erasure is kept, and other users are untouched.
    await there.append('u1', 'c', late, Date.now() + 1);
    await there.append('u2', 'c', late, startedBefore);
    expect(await here.recent('u1', 'c')).toHaveLength(1);
    expect(await here.recent('u2', 'c')).toHaveLength(1);
  });

  it('works from memory while Redis is unreachable (degraded mode)', async () => {
    const c = await connect(false); // never started: memory mode
    const s = store(c);
    await s.append('u1', 'a', turn(1));
    await s.append('u1', 'a', turn(2));
    await s.append('u2', 'a', turn(3));
    expect((await s.recent('u1', 'a')).map((t) => t.at)).toEqual([1, 2]);
    expect((await s.recent('u2', 'a')).map((t) => t.at)).toEqual([3]);
    expect(await s.eraseUser('u1')).toEqual({ deleted: 1, redisReachable: false });
    expect(await s.recent('u1', 'a')).toEqual([]);
    expect(await s.recent('u2', 'a')).toHaveLength(1);
    await s.append('u1', 'a', { ...turn(4), at: Date.now() }, Date.now() - 1000); // was in flight
    expect(await s.recent('u1', 'a')).toEqual([]);
  });
});

describe('token budget', () => {
  it('counts per user per UTC day, in memory when Redis is unreachable', async () => {
    const logs = testLogger('budget');
    const c = await testConnection(logs.logger, { wait: false });
    try {
      let now = Date.UTC(2025, 0, 1, 23, 59, 0);
      const b = new TokenBudget({ connection: c, dailyLimit: 100, memoryMaxEntries: 10, now: () => now });
      await b.add('u1', 60);
      expect(await b.remaining('u1')).toBe(40);
      await b.add('u1', 40);
      await expect(b.remaining('u1')).rejects.toMatchObject({
        code: 'token_budget_exhausted',
        status: 429,
        retryAfterMs: 60_000,
      });
      expect(await b.remaining('u2')).toBe(100);
      now += 61_000; // a new UTC day
      expect(await b.remaining('u1')).toBe(100);
      const off = new TokenBudget({ connection: c, dailyLimit: 0, memoryMaxEntries: 10 });
      await off.add('u1', 1e9);
      expect(await off.remaining('u1')).toBe(Number.POSITIVE_INFINITY);
    } finally {
      await c.close();
    }
  });
});
