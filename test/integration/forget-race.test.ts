import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentWorld, startAgentWorld } from '../helpers/agent.js';
import { authHeaders } from '../helpers/app.js';

/**
 * "Forget me" while a message of the same user is still being answered: what that message does
 * afterwards (a fact the model remembers, the conversation turn) does not bring anything back.
 */
describe('"forget me" during a running message', () => {
  let w: AgentWorld;
  beforeAll(async () => {
    w = await startAgentWorld({ ANSWER_CACHE_TTL_SECONDS: '0' });
  });
  afterAll(async () => {
    await w.close();
  });

  it('neither the fact remembered afterwards nor the turn comes back', async () => {
    const toolResults: string[] = [];
    w.openai.setDefault((req) => {
      const tool = req.messages.find((m) => m.role === 'tool');
      if (!tool)
        return {
          toolCalls: [{ name: 'remember_fact', arguments: { key: 'salary', value: '90k a year' } }],
          delayMs: 500,
        };
      toolResults.push(JSON.stringify(tool.content));
      return { content: 'Noted.' };
    });
    const user = 'u-race';
    const running = w.chat({ message: 'I earn 90k a year', user_id: user, conversation_id: 'c-race' });
    await expect.poll(() => w.openai.chatRequests().length).toBe(1); // the model is thinking
    const forgot = await fetch(`${w.t.baseUrl}/v1/users/me/memory?user_id=${user}`, {
      method: 'DELETE',
      headers: authHeaders(),
    });
    expect(forgot.status).toBe(200);
    const reply = await running;
    expect(reply.status).toBe(200);

    expect(toolResults.join()).toMatch(/forgotten meanwhile/);
    expect(await w.t.app.core.data.readMemory(`http:alpha:${user}`)).toBeUndefined();
    // The next message of that conversation starts from nothing: no earlier turn in its prompt.
    w.openai.reset();
    w.openai.setDefault({ content: 'Hello again.' });
    await w.chat({ message: 'hello', user_id: user, conversation_id: 'c-race' });
    const prompt = JSON.stringify(w.openai.chatRequests()[0]?.messages);
    expect(prompt).not.toContain('90k');
  });
});
