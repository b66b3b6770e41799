import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatRequest } from '../fakes/openai-server.js';
import { type AgentWorld, byRole, lastOf, roleOf, startAgentWorld, systemOf } from '../helpers/agent.js';
import { authHeaders, startTestApp } from '../helpers/app.js';
import { jsonOf } from '../helpers/http.js';
import { TEST_SECRETS } from '../helpers/secrets.js';

/** Remembers a stated budget, and otherwise answers with what the system prompt says it remembers. */
const memoryScript = byRole((req, role, afterTool) => {
  if (role !== 'orchestrator') return { content: 'n/a' };
  if (afterTool) return { content: 'Noted.' };
  const said = lastOf(req).text;
  const budget = /my budget is (\S+)/i.exec(said)?.[1];
  if (budget) return { toolCalls: [{ name: 'remember_fact', arguments: { key: 'budget', value: budget } }] };
  const line = /- budget: (\S+)/.exec(systemOf(req))?.[1];
  return { content: line ? `Your budget is ${line}.` : 'I do not know your budget.' };
});

/**
 * Memories (facts in the data store, in the prompt) and conversations (recent turns in Redis),
 * per user and only for that user; "forget me" over HTTP and as the /realty-forget chat command.
 */
describe('agent memory, conversations and "forget me"', () => {
  let w: AgentWorld;
  const ask = (user: string, conversation: string, message: string) =>
    w.chat({ message, user_id: user, conversation_id: conversation });
  const forget = (query: string, init: RequestInit = {}) =>
    fetch(`${w.t.baseUrl}/v1/users/me/memory${query}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TEST_SECRETS.apiKey}` },
      ...init,
    });
  const requestsOf = (text: string): ChatRequest[] =>
    w.openai.chatRequests().filter((r) => r.messages.some((m) => JSON.stringify(m.content).includes(text)));

  beforeAll(async () => {
    // Answers asked without memory may be reused across users (see agent-chat): off here, so every
    // question reaches the model and the test can look at its prompt.
    w = await startAgentWorld({ ANSWER_CACHE_TTL_SECONDS: '0' });
  });
  afterAll(async () => {
    await w.close();
  });
  beforeEach(() => {
    w.openai.reset();
    w.openai.setDefault(memoryScript);
  });

  it("recalls a user's budget in another conversation; never shows it to another user", async () => {
    expect((await ask('alice', 'c-1', 'My budget is $450,000')).json.reply).toBe('Noted.');
    expect((await ask('alice', 'c-2', "What's my budget?")).json.reply).toBe('Your budget is $450,000.');
    expect(await w.t.app.core.data.readMemory('http:alpha:alice')).toMatchObject({
      data: { facts: { budget: { value: '$450,000' } } },
    });

    // Bob, even in a conversation with Alice's id, sees neither her memory nor her turns.
    w.openai.reset();
    w.openai.setDefault(memoryScript);
    expect((await ask('bob', 'c-1', "What's my budget?")).json.reply).toBe('I do not know your budget.');
    const bob = w.openai.chatRequests();
    expect(bob).toHaveLength(1);
    expect(JSON.stringify(bob)).not.toContain('450,000');
    expect(bob[0]?.messages.map((m) => m.role)).toEqual(['system', 'user']);
    // The same user id under another API key is another user too.
    const other = await w.chat(
      { message: "What's my budget?", user_id: 'alice', conversation_id: 'c-1' },
      { authorization: `Bearer ${TEST_SECRETS.apiKey2}` },
    );
    expect(other.json.reply).toBe('I do not know your budget.');
  });

  it('DELETE /v1/users/me/memory forgets the memory and every conversation', async () => {
    await ask('carol', 'c-1', 'My budget is $300k');
    await ask('carol', 'c-2', 'hello');
    const res = await forget('?user_id=carol');
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-policy')).toBeTruthy();
    expect(await jsonOf(res)).toEqual({ user_id: 'carol', memory_deleted: true, conversations_deleted: 2 });
    expect(await w.t.app.core.data.readMemory('http:alpha:carol')).toBeUndefined();

    w.openai.reset();
    w.openai.setDefault(memoryScript);
    expect((await ask('carol', 'c-1', "What's my budget?")).json.reply).toBe('I do not know your budget.');
    const [req] = w.openai.chatRequests();
    expect(req?.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(systemOf(req as ChatRequest)).toContain('You remember nothing about this user yet');
    expect(requestsOf('$300k')).toHaveLength(0);

    // The user can be named in a JSON body too; nothing left to forget now but this conversation.
    const again = await forget('', {
      headers: authHeaders(),
      body: JSON.stringify({ user_id: 'carol' }),
    });
    expect(await jsonOf(again)).toEqual({
      user_id: 'carol',
      memory_deleted: false,
      conversations_deleted: 1,
    });
  });

  it('the route refuses what it should', async () => {
    expect((await fetch(`${w.t.baseUrl}/v1/users/me/memory`, { method: 'DELETE' })).status).toBe(401);
    const clash = await forget('?user_id=a', {
      headers: authHeaders(),
      body: JSON.stringify({ user_id: 'b' }),
    });
    expect(clash.status).toBe(400);
    expect((await forget('?user_id=bad%20id')).status).toBe(400);
    const extra = await forget('', { headers: authHeaders(), body: JSON.stringify({ user: 'x' }) });
    expect(extra.status).toBe(400);
    const get = await fetch(`${w.t.baseUrl}/v1/users/me/memory`, { headers: authHeaders() });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('DELETE');
    // With no user_id, the key's default user (as in POST /v1/chat).
    expect(await jsonOf(await forget(''))).toMatchObject({ user_id: 'default' });
  });

  it('/realty-forget in chat does the same, in the core, without calling the model', async () => {
    await ask('dave', 'c-1', 'My budget is $1.2M');
    w.openai.reset();
    const res = await ask('dave', 'c-1', '/realty-forget');
    expect(res.status).toBe(200);
    expect(res.json.reply).toMatch(/^Done: I have forgotten everything/);
    expect(w.openai.chatRequests()).toHaveLength(0);
    expect(await w.t.app.core.data.readMemory('http:alpha:dave')).toBeUndefined();
    w.openai.setDefault(memoryScript);
    expect((await ask('dave', 'c-1', "What's my budget?")).json.reply).toBe('I do not know your budget.');
    expect(w.openai.chatRequests()[0]?.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect((await ask('dave', 'c-9', '/REALTY-FORGET')).json.reply).toMatch(/Done|nothing to forget/);
  });

  it('the orchestrator sees only delegate and the memory tools; subagents never see the memory', async () => {
    await ask('erin', 'c-1', 'My budget is $700k');
    w.openai.reset();
    w.openai.setDefault(
      byRole((_req, role, afterTool) =>
        role === 'orchestrator' && !afterTool
          ? {
              toolCalls: [
                { name: 'delegate', arguments: { assistant: 'financial_analysis', task: 'payment on 400k' } },
              ],
            }
          : role === 'financial_analysis' && !afterTool
            ? {
                toolCalls: [
                  {
                    name: 'mortgage_payment',
                    arguments: { principal: 400_000, annualRatePercent: 6.5, termYears: 30 },
                  },
                ],
              }
            : { content: 'done' },
      ),
    );
    await ask('erin', 'c-2', 'payment on 400k at 6.5%?');
    const [orchestrator, analyst, analystAfter] = w.openai.chatRequests();
    expect(orchestrator?.tools?.map((t) => t.function.name).sort()).toEqual([
      'delegate',
      'forget_fact',
      'recall_memory',
      'remember_fact',
    ]);
    expect(roleOf(analyst as ChatRequest)).toBe('financial_analysis');
    expect(JSON.stringify(analyst)).not.toContain('$700k');
    expect(JSON.parse(lastOf(analystAfter as ChatRequest).text)).toMatchObject({
      monthlyPayment: 2528.27,
      totalInterest: 510177.95,
    });
  });
});

describe('without a language model', () => {
  it('chat answers 503 llm_not_configured, but /realty-forget still works', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'agent-nollm-'));
    const t = await startTestApp({ agent: 'configured', env: { DATA_DIR: dataDir } });
    try {
      const send = (message: string) =>
        fetch(`${t.baseUrl}/v1/chat`, {
          method: 'POST',
          headers: authHeaders(),
          body: JSON.stringify({ message, user_id: 'u1' }),
        });
      const res = await send('hello');
      expect(res.status).toBe(503);
      expect((await jsonOf(res)).code).toBe('llm_not_configured');
      const forgot = await send('/realty-forget');
      expect(forgot.status).toBe(200);
      expect((await jsonOf(forgot)).reply).toMatch(/nothing to forget/);
      const health = await jsonOf(await fetch(`${t.opsUrl}/health`));
      expect(health.checks.llm.status).toBe('not_configured');
      expect(health.checks.realty_api.status).toBe('not_configured');
    } finally {
      await t.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
