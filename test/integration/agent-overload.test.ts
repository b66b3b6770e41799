import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentWorld, startAgentWorld } from '../helpers/agent.js';
import { authHeaders } from '../helpers/app.js';
import { jsonOf } from '../helpers/http.js';

/**
 * The LLM upstream's queue is bounded: when it is full, chat sheds the message with 503
 * `overloaded` and a Retry-After instead of queueing without end, and the messages already
 * admitted are still answered.
 */
describe('a full model queue through POST /v1/chat', () => {
  let w: AgentWorld;
  beforeAll(async () => {
    w = await startAgentWorld({
      LLM_MAX_CONCURRENT: '1',
      LLM_QUEUE_LIMIT: '1',
      ANSWER_CACHE_TTL_SECONDS: '0',
    });
  });
  afterAll(async () => {
    await w.close();
  });

  it('sheds what does not fit with 503 overloaded and Retry-After; the rest are answered', async () => {
    w.openai.setDefault({ content: 'A slow but complete answer.', delayMs: 400 });
    const send = (i: number) =>
      fetch(`${w.t.baseUrl}/v1/chat`, {
        method: 'POST',
        headers: authHeaders(),
        body: JSON.stringify({ message: `question number ${i}`, user_id: `u-overload-${i}` }),
      });
    const responses = await Promise.all(Array.from({ length: 5 }, (_, i) => send(i)));
    const statuses = responses.map((r) => r.status).sort();
    const bodies = await Promise.all(responses.map((r) => jsonOf(r)));
    // One call runs, one waits in the queue: the other three are shed at once.
    expect(statuses).toEqual([200, 200, 503, 503, 503]);
    for (const [i, r] of responses.entries()) {
      if (r.status === 200) {
        expect(bodies[i].reply).toBe('A slow but complete answer.');
        continue;
      }
      expect(bodies[i].code).toBe('overloaded');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect(w.openai.chatRequests()).toHaveLength(2);
    expect((await w.metrics()).errors_by_type.overload).toBe(3);
  });
});
