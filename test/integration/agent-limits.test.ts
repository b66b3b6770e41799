import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AgentWorld, byRole, lastOf, startAgentWorld } from '../helpers/agent.js';
import { authHeaders } from '../helpers/app.js';
import { jsonOf } from '../helpers/http.js';
import { activeHandles, scanKeys } from '../helpers/upstreams.js';

const toolMessages = (req: { messages: { role: string }[] }) =>
  req.messages.filter((m) => m.role === 'tool').length;

/**
 * Waits until the process's timers come back to at most `base` (things settle asynchronously).
 * Sockets are checked per fake (a cut-off exchange must end) and, at the end, for
 * the whole process once the service and the fakes are stopped: while they run, keep-alive
 * connections come and go legitimately.
 */
async function timersBackTo(base: { timers: number }): Promise<void> {
  await expect.poll(() => activeHandles().timers, { timeout: 2000 }).toBeLessThanOrEqual(base.timers);
}

/**
 * Every loop is bounded: steps, repeated calls, the step and run time budgets (which really
 * stop the upstream calls), LLM failures, and the per-user daily token budget.
 */
describe('agent limits and faults', () => {
  let w: AgentWorld;
  const errorsOf = async (type: string): Promise<number> => (await w.metrics()).errors_by_type[type];
  beforeAll(async () => {
    w = await startAgentWorld({
      // The run's own budget is 2250 ms (AGENT_TIMEOUT_MS minus 10 %), the pipeline's 2500 ms.
      AGENT_TIMEOUT_MS: '2500',
      AGENT_STEP_TIMEOUT_MS: '800',
      AGENT_MAX_STEPS: '4',
      ANSWER_CACHE_TTL_SECONDS: '0',
    });
  });
  afterAll(async () => {
    await w.close();
  });
  beforeEach(() => {
    w.openai.reset();
    w.realty.http.reset();
  });

  it('a model that calls tools forever stops at the step limit with a plain answer, counted as llm', async () => {
    const before = await errorsOf('llm');
    w.openai.setDefault((req) => ({
      toolCalls: [{ name: 'remember_fact', arguments: { key: `k${toolMessages(req)}`, value: 'v' } }],
    }));
    const res = await w.chat({ message: 'loop forever', user_id: 'u-steps' });
    expect(res.status).toBe(200);
    expect(res.json.reply).toMatch(/stopped after 4 steps/);
    expect(w.openai.chatRequests()).toHaveLength(4);
    expect(await errorsOf('llm')).toBe(before + 1);
  });

  it('the same tool call repeated is refused, and repeating it again ends the run', async () => {
    w.openai.setDefault({ toolCalls: [{ name: 'recall_memory', arguments: {} }] });
    const res = await w.chat({ message: 'recall, recall', user_id: 'u-repeat' });
    expect(res.json.reply).toMatch(/repeating the same lookup/);
    const requests = w.openai.chatRequests();
    expect(requests).toHaveLength(3);
    expect(lastOf(requests[2] as never).text).toContain('already called with exactly these arguments');
  });

  it('a hanging model is cut off at the step budget: a plain answer, the exchange closed, no timer left', async () => {
    const base = activeHandles();
    const before = await errorsOf('timeout');
    w.openai.setDefault({ fault: 'hang' });
    const started = Date.now();
    const res = await w.chat({ message: 'hang please', user_id: 'u-hang' });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(200);
    expect(res.json.reply).toMatch(/ran out of time/);
    expect(elapsed).toBeGreaterThanOrEqual(750);
    expect(elapsed).toBeLessThan(1400);
    expect(await errorsOf('timeout')).toBe(before + 1);
    await expect.poll(() => w.openai.http.inFlight).toBe(0);
    await timersBackTo(base);
  });

  it('a slow model calling tools is cut off at the run budget', async () => {
    w.openai.setDefault((req) => ({
      toolCalls: [{ name: 'remember_fact', arguments: { key: `slow${toolMessages(req)}`, value: 'v' } }],
      // Three answers take 1800 ms; the fourth call is cut off mid-way by the 2250 ms budget as long
      // as the three remember_fact steps (each an fsynced file write) take under 450 ms together.
      // At 700 ms a disk slow to fsync (after a benchmark's mass deletions) left no time for it.
      delayMs: 600,
    }));
    const started = Date.now();
    const res = await w.chat({ message: 'slowly', user_id: 'u-slow' });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(200);
    expect(res.json.reply).toMatch(/ran out of time/);
    expect(elapsed).toBeGreaterThanOrEqual(2200); // the run's budget, under the pipeline's 2500 ms
    expect(elapsed).toBeLessThan(2500);
    expect(w.openai.chatRequests()).toHaveLength(4); // three answered, the fourth cut off
    await expect.poll(() => w.openai.http.inFlight).toBe(0);
  });

  it('a hanging Realty API is cut off at the step budget; the model gets the error and answers', async () => {
    const base = activeHandles();
    w.realty.http.failAlways({ kind: 'hang' });
    const toolResults: string[] = [];
    w.openai.setDefault(
      byRole((req, role, afterTool) => {
        if (afterTool) toolResults.push(lastOf(req).text);
        if (role === 'orchestrator')
          return afterTool
            ? { content: 'The listing service is not answering right now.' }
            : {
                toolCalls: [
                  { name: 'delegate', arguments: { assistant: 'property_research', task: 'Austin' } },
                ],
              };
        return afterTool
          ? { content: 'search failed' }
          : { toolCalls: [{ name: 'search_homes_for_sale', arguments: { city: 'Dallas', state: 'TX' } }] };
      }),
    );
    const started = Date.now();
    const res = await w.chat({ message: 'homes in Dallas', user_id: 'u-realty-hang' });
    expect(res.status).toBe(200);
    expect(res.json.reply).toBe('The listing service is not answering right now.');
    expect(Date.now() - started).toBeLessThan(1400);
    expect(toolResults[0]).toMatch(/^Error: the tool did not answer in time/);
    await expect.poll(() => w.realty.http.inFlight).toBe(0);
    // The hung exchange is over (undici may open a fresh idle keep-alive connection after an abort).
    expect(w.realty.http.hanging).toBe(0);
    w.realty.http.clearFaults();
    await timersBackTo(base);
  });

  it('retries an LLM 429 and answers', async () => {
    w.openai.reply({ error: 429, retryAfter: 0, message: 'Rate limit reached' }, { content: 'Recovered' });
    const res = await w.chat({ message: 'are you there', user_id: 'u-429' });
    expect(res).toMatchObject({ status: 200, json: { reply: 'Recovered' } });
    expect(w.openai.chatRequests()).toHaveLength(2);
  });

  it('an LLM 401 is a clear llm error, counted once, and /health says failing', async () => {
    const before = await errorsOf('llm');
    w.openai.setDefault({ error: 401, message: 'Incorrect API key provided' });
    const res = await w.chat({ message: 'hello', user_id: 'u-401' });
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({
      code: 'llm_auth',
      detail: 'llm rejected the configured API key (HTTP 401)',
    });
    expect(w.openai.chatRequests()).toHaveLength(1);
    expect(await errorsOf('llm')).toBe(before + 1);
    const health = await jsonOf(await fetch(`${w.t.opsUrl}/health`));
    expect(health.checks.llm.status).toBe('failing');
    expect(health.checks.realty_api.status).toBe('ok');
    w.openai.setDefault({ content: 'fine again' });
    expect((await w.chat({ message: 'hello again', user_id: 'u-401' })).status).toBe(200);
    expect((await jsonOf(await fetch(`${w.t.opsUrl}/health`))).checks.llm.status).toBe('configured');
  });
});

describe('per-user daily token budget', () => {
  let w: AgentWorld;
  beforeAll(async () => {
    w = await startAgentWorld({ LLM_USER_DAILY_TOKENS: '40', ANSWER_CACHE_TTL_SECONDS: '0' });
  });
  afterAll(async () => {
    await w.close();
  });

  it('counts reported usage in Redis until midnight UTC, then refuses with 429 token_budget_exhausted', async () => {
    w.openai.setDefault({ content: 'an answer', usage: { prompt_tokens: 20, completion_tokens: 5 } });
    expect((await w.chat({ message: 'one', user_id: 'u-tokens' })).status).toBe(200);
    expect((await w.chat({ message: 'two', user_id: 'u-tokens' })).status).toBe(200);
    const res = await fetch(`${w.t.baseUrl}/v1/chat`, {
      method: 'POST',
      headers: authHeaders(),
      body: JSON.stringify({ message: 'three', user_id: 'u-tokens' }),
    });
    expect(res.status).toBe(429);
    const body = await jsonOf(res);
    expect(body).toMatchObject({ code: 'token_budget_exhausted', limit_tokens: 40 });
    expect(body.detail).toMatch(/resets at midnight UTC/);
    const untilMidnight = 86_400 - Math.floor((Date.now() % 86_400_000) / 1000);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(Math.abs(retryAfter - untilMidnight)).toBeLessThanOrEqual(2);
    expect(w.openai.chatRequests()).toHaveLength(2);
    // Stored under the user's hash with an expiry at the next UTC midnight (plus a minute).
    const client = w.t.app.core.connection.client;
    const keys = await scanKeys(client, `${w.t.prefix}tokens:*`);
    expect(keys).toHaveLength(1);
    expect(await client.get(keys[0] as string)).toBe('50');
    const ttl = await client.pttl(keys[0] as string);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(untilMidnight * 1000 + 61_000);
    // Someone else still has a budget.
    expect((await w.chat({ message: 'mine', user_id: 'u-tokens-2' })).status).toBe(200);
  });

  it('a run that spends the budget midway stops with a plain answer', async () => {
    w.openai.reset();
    w.openai.setDefault((req) => ({
      toolCalls: [{ name: 'remember_fact', arguments: { key: `t${toolMessages(req)}`, value: 'v' } }],
      usage: { prompt_tokens: 20, completion_tokens: 5 },
    }));
    const res = await w.chat({ message: 'spend it all', user_id: 'u-tokens-3' });
    expect(res.status).toBe(200);
    expect(res.json.reply).toMatch(/today's usage limit/);
    expect(w.openai.chatRequests()).toHaveLength(2);
  });
});

describe('cut-off runs leave nothing behind', () => {
  it('after hanging model and Realty calls, stopping the service leaves no timer or socket', async () => {
    const base = activeHandles();
    const w = await startAgentWorld({ AGENT_TIMEOUT_MS: '1000', AGENT_STEP_TIMEOUT_MS: '400' });
    w.openai.reply({ fault: 'hang' });
    expect((await w.chat({ message: 'hang', user_id: 'u-leak' })).json.reply).toMatch(/ran out of time/);
    w.realty.http.failAlways({ kind: 'hang' });
    w.openai.setDefault(
      byRole((_req, role, afterTool) =>
        afterTool
          ? { content: 'no listings right now' }
          : role === 'orchestrator'
            ? {
                toolCalls: [
                  { name: 'delegate', arguments: { assistant: 'property_research', task: 'Austin' } },
                ],
              }
            : { toolCalls: [{ name: 'search_rentals', arguments: { city: 'Austin', state: 'TX' } }] },
      ),
    );
    expect((await w.chat({ message: 'rentals', user_id: 'u-leak' })).json.reply).toBe(
      'no listings right now',
    );
    await w.close();
    await expect.poll(() => activeHandles().timers, { timeout: 3000 }).toBeLessThanOrEqual(base.timers);
    await expect.poll(() => activeHandles().sockets, { timeout: 3000 }).toBeLessThanOrEqual(base.sockets);
  });
});
