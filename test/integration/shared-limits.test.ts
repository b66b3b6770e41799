import { describe, expect, it } from 'vitest';
import { FakeAgent } from '../fakes/fake-agent.js';
import { authHeaders, startTestApp, testEnv } from '../helpers/app.js';
import { jsonOf } from '../helpers/http.js';

describe('two service instances sharing one Redis', () => {
  it('hold one rate-limit budget per user across both', async () => {
    const shared = testEnv({ RATE_LIMIT_POINTS: '5', RATE_LIMIT_DURATION_SECONDS: '60' });
    const env = { REDIS_KEY_PREFIX: shared.REDIS_KEY_PREFIX as string, RATE_LIMIT_POINTS: '5' };
    const a = await startTestApp({ env, agent: new FakeAgent() });
    const b = await startTestApp({ env, agent: new FakeAgent() });
    try {
      const send = (url: string, user: string) =>
        fetch(`${url}/v1/chat`, {
          method: 'POST',
          headers: authHeaders(),
          body: JSON.stringify({ message: 'hi', user_id: user }),
        });
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++)
        statuses.push((await send(i % 2 === 0 ? a.baseUrl : b.baseUrl, 'shared-user')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
      // Another user still has a full budget on either instance.
      const other = await send(b.baseUrl, 'someone-else');
      expect(other.status).toBe(200);
      expect(other.headers.get('x-ratelimit-remaining')).toBe('4');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('recognise a retried Idempotency-Key that lands on the other instance', async () => {
    const shared = testEnv();
    const env = { REDIS_KEY_PREFIX: shared.REDIS_KEY_PREFIX as string };
    const agentA = new FakeAgent();
    const agentB = new FakeAgent();
    const a = await startTestApp({ env, agent: agentA });
    const b = await startTestApp({ env, agent: agentB });
    try {
      const send = (url: string) =>
        fetch(`${url}/v1/chat`, {
          method: 'POST',
          headers: { ...authHeaders(), 'idempotency-key': 'retry-me-1' },
          body: JSON.stringify({ message: 'book a viewing', conversation_id: 'c9' }),
        });
      const first = await jsonOf(await send(a.baseUrl));
      const second = await jsonOf(await send(b.baseUrl));
      expect(agentA.calls.length + agentB.calls.length).toBe(1);
      expect(second).toEqual({ ...first, cached: true });
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
