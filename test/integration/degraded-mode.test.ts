import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '../fakes/fake-agent.js';
import { authHeaders, startTestApp, type TestApp } from '../helpers/app.js';
import { type OwnRedis, startOwnRedis } from '../helpers/redis-server.js';

async function health(t: TestApp) {
  const res = await fetch(`${t.opsUrl}/health`);
  return {
    status: res.status,
    body: (await res.json()) as { status: string; checks: { redis: { status: string; mode: string } } },
  };
}

async function waitFor(predicate: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await predicate()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

describe('degraded mode: Redis dies under steady traffic and comes back', () => {
  let redis: OwnRedis;
  let t: TestApp;
  beforeAll(async () => {
    redis = await startOwnRedis();
    t = await startTestApp({
      agent: new FakeAgent(),
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300', RATE_LIMIT_POINTS: '100000' },
    });
  });
  afterAll(async () => {
    await t.stop();
    await redis.stop();
  });

  it('answers every request, reports memory mode, and returns to Redis by itself within 5 s', async () => {
    const statuses: number[] = [];
    let sent = 0;
    let running = true;
    const sender = async (worker: number) => {
      while (running) {
        sent++;
        const res = await fetch(`${t.baseUrl}/v1/chat`, {
          method: 'POST',
          headers: authHeaders(),
          body: JSON.stringify({ message: `ping ${sent}`, user_id: `user-${worker}` }),
        });
        statuses.push(res.status);
        await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const senders = [0, 1, 2, 3].map(sender);

    const before = await health(t);
    expect(before.body.checks.redis).toEqual({ status: 'connected', mode: 'redis' });
    await new Promise((r) => setTimeout(r, 300));

    await redis.stop('SIGKILL');
    await waitFor(async () => (await health(t)).body.checks.redis.mode === 'memory', 3000);
    const down = await health(t);
    expect(down.status).toBe(200);
    expect(down.body.status).toBe('degraded');
    expect(down.body.checks.redis).toEqual({ status: 'disconnected', mode: 'memory' });
    const duringOutage = statuses.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(statuses.length).toBeGreaterThan(duringOutage); // still answering while Redis is gone
    const metricsDown = await (await fetch(`${t.opsUrl}/metrics?format=prometheus`)).text();
    expect(metricsDown).toMatch(/^realty_degraded_mode 1$/m);

    await redis.start();
    const took = await waitFor(async () => (await health(t)).body.checks.redis.mode === 'redis', 5000);
    expect(took).toBeLessThan(5000);
    expect((await health(t)).body.checks.redis).toEqual({ status: 'connected', mode: 'redis' });

    // Limits are counted in Redis again.
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await Promise.all(senders);
    const probe = new Redis(redis.url);
    try {
      const keys = await probe.keys(`${t.prefix}rl:*`);
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      probe.disconnect();
    }

    // Nothing lost: every request got an answer, and every answer was a 200.
    expect(statuses.length).toBe(sent);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses.length).toBeGreaterThan(20);

    // Each switch was logged once.
    const lines = t.logs.lines().map((l) => String(l.msg));
    expect(lines.filter((m) => m.startsWith('redis unreachable'))).toHaveLength(1);
    expect(lines.filter((m) => m.startsWith('redis connected'))).toHaveLength(2);
    const metricsUp = await (await fetch(`${t.opsUrl}/metrics?format=prometheus`)).text();
    expect(metricsUp).toMatch(/^realty_degraded_mode 0$/m);
    expect(metricsUp).toMatch(/^realty_redis_up 1$/m);
  });
});

describe('a Redis that stops answering (frozen, connections still open)', () => {
  it('switches to memory after a few timeouts instead of making every request wait, and comes back', async () => {
    const redis = await startOwnRedis();
    const t = await startTestApp({
      agent: new FakeAgent(),
      env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200', RATE_LIMIT_POINTS: '100000' },
    });
    try {
      redis.signal('SIGSTOP');
      const timings: number[] = [];
      for (let i = 0; i < 12; i++) {
        const started = Date.now();
        const res = await fetch(`${t.baseUrl}/v1/chat`, {
          method: 'POST',
          headers: authHeaders(),
          body: JSON.stringify({ message: `frozen ${i}`, user_id: 'f' }),
        });
        expect(res.status).toBe(200);
        timings.push(Date.now() - started);
      }
      expect((await health(t)).body.checks.redis.mode).toBe('memory');
      // Only the first few requests paid command timeouts; the rest ran from memory at once.
      expect(timings.slice(-5).every((ms) => ms < 150)).toBe(true);
      redis.signal('SIGCONT');
      const took = await waitFor(async () => (await health(t)).body.checks.redis.mode === 'redis', 5000);
      expect(took).toBeLessThan(5000);
      const lines = t.logs.lines().map((l) => String(l.msg));
      expect(
        lines.filter((m) => m === 'redis stopped answering: reconnecting').length,
      ).toBeGreaterThanOrEqual(1);
    } finally {
      redis.signal('SIGCONT');
      await t.stop();
      await redis.stop();
    }
  });
});

describe('starting without Redis', () => {
  it('starts in memory mode and serves', async () => {
    const t = await startTestApp({ waitForRedis: false, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const res = await fetch(`${t.baseUrl}/v1/chat`, {
        method: 'POST',
        headers: authHeaders(),
        body: JSON.stringify({ message: 'hello' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-remaining')).toBe('19');
      const h = await health(t);
      expect(h.body.checks.redis).toEqual({ status: 'disconnected', mode: 'memory' });
      const m = (await (await fetch(`${t.opsUrl}/metrics`)).json()) as { redis: unknown };
      expect(m.redis).toEqual({ connected: false, mode: 'memory' });
    } finally {
      await t.stop();
    }
  });
});
