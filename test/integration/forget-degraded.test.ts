import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentWorld, startAgentWorld } from '../helpers/agent.js';
import { authHeaders } from '../helpers/app.js';
import { jsonOf } from '../helpers/http.js';
import { type OwnRedis, startOwnRedis } from '../helpers/redis-server.js';

/**
 * "Forget me" while Redis is down cannot delete the conversation turns kept there: the user is
 * told so and asked to try again, never told that everything went.
 */
describe('"forget me" while Redis is unreachable', () => {
  let redis: OwnRedis;
  let w: AgentWorld;
  beforeAll(async () => {
    redis = await startOwnRedis();
    w = await startAgentWorld({ REDIS_URL: redis.url, ANSWER_CACHE_TTL_SECONDS: '0' });
  });
  afterAll(async () => {
    await w.close();
    await redis.stop('SIGTERM'); // a no-op when the test killed it already
  });

  it('says the erasure is partial, over HTTP (503) and in chat', async () => {
    w.openai.setDefault({ content: 'Noted.' });
    const said = await w.chat({ message: 'my salary is 90k', user_id: 'u-partial', conversation_id: 'c1' });
    expect(said.status).toBe(200);
    // The turn is appended after the reply: wait until it is in Redis.
    const probe = new Redis(redis.url);
    try {
      await expect.poll(async () => (await probe.keys('*conv*')).length).toBeGreaterThan(0);
    } finally {
      probe.disconnect();
    }

    await redis.stop('SIGKILL');
    await expect
      .poll(async () => (await jsonOf(await fetch(`${w.t.opsUrl}/health`))).checks.redis.mode)
      .toBe('memory');

    const res = await fetch(`${w.t.baseUrl}/v1/users/me/memory?user_id=u-partial`, {
      method: 'DELETE',
      headers: authHeaders(),
    });
    expect(res.status).toBe(503);
    const problem = await jsonOf(res);
    expect(problem.code).toBe('redis_unavailable');
    expect(problem.detail).toMatch(/conversation history is still kept: send this request again/);

    const chat = await w.chat({ message: '/realty-forget', user_id: 'u-partial' });
    expect(chat.status).toBe(200);
    expect(chat.json.reply).toMatch(/could not reach the conversation store.*\/realty-forget again/);
    expect(chat.json.reply).not.toMatch(/Done|nothing to forget/);
  });
});
