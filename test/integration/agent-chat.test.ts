import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AgentWorld, byRole, lastOf, roleOf, searchScript, startAgentWorld } from '../helpers/agent.js';
import { authHeaders } from '../helpers/app.js';

/**
 * The real agent (orchestrator, subagents, tools) behind POST /v1/chat, against the OpenAI,
 * Realty US and OSM fakes: listing search through delegation, tool and answer caching,
 * single flight, streaming and reports.
 */
describe('the agent through POST /v1/chat', () => {
  let w: AgentWorld;
  beforeAll(async () => {
    w = await startAgentWorld();
  });
  afterAll(async () => {
    await w.close();
  });
  beforeEach(() => {
    w.openai.reset();
    w.realty.http.reset();
  });

  it('"3-bed homes in Austin under 500k": one Realty search, a fixture listing, then caches', async () => {
    const question = '3-bed homes in Austin under 500k';
    w.openai.setDefault(searchScript({ city: 'Austin', state: 'TX', minBeds: 3, maxPrice: 500_000 }));
    const first = await w.chat({ message: question, user_id: 'u-search', conversation_id: 'c1' });
    expect(first.status).toBe(200);
    expect(first.json.reply).toContain('4512 Avenue F');
    expect(first.json.cached).toBe(false);
    expect(w.realty.searches).toHaveLength(1);
    const q = w.realty.searches[0]?.query as URLSearchParams;
    expect(q.get('location')).toBe('city:Austin, TX');
    expect(q.get('bedrooms')).toBe('3');
    expect(q.get('prices')).toBe(',500000');
    expect(w.realty.searches[0]?.path).toBe('/properties/search-buy');
    // orchestrator -> delegate -> property_research -> search -> property_research -> orchestrator
    expect(w.openai.chatRequests().map(roleOf)).toEqual([
      'orchestrator',
      'property_research',
      'property_research',
      'orchestrator',
    ]);

    // Same conversation again: history makes the answer personal, so the agent runs, but the
    // search result comes from the cache.
    const again = await w.chat({ message: question, user_id: 'u-search', conversation_id: 'c1' });
    expect(again.json.reply).toContain('4512 Avenue F');
    expect(again.json.cached).toBe(false);
    expect(w.realty.searches).toHaveLength(1);
    expect(w.openai.chatRequests()).toHaveLength(8);
    // The earlier turn went back into the prompt.
    const orchestrator = w.openai.chatRequests()[4];
    expect(orchestrator?.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);

    // Another user with nothing personal: the stored answer is reused, no model call at all.
    const other = await w.chat({ message: '3-Bed homes in Austin under 500K?', user_id: 'u-other' });
    expect(other.json).toMatchObject({ reply: first.json.reply, cached: true });
    expect(w.openai.chatRequests()).toHaveLength(8);
    expect(w.realty.searches).toHaveLength(1);
  });

  it('50 concurrent identical searches make one Realty request (and share one run)', async () => {
    w.openai.setDefault(searchScript({ city: 'Austin', state: 'TX', minBeds: 2, maxPrice: 450_000 }));
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        w.chat({ message: '2-bed homes in Austin under 450k', user_id: `u-many-${i}` }),
      ),
    );
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(new Set(replies.map((r) => r.json.reply)).size).toBe(1);
    expect(replies.filter((r) => r.json.cached === false)).toHaveLength(1);
    expect(w.realty.searches).toHaveLength(1);
    expect(w.openai.chatRequests()).toHaveLength(4);
  });

  it('users with memories run their own agents, and still make one Realty request', async () => {
    w.openai.setDefault(searchScript({ city: 'Austin', state: 'TX', minBeds: 1, maxPrice: 700_000 }));
    const users = Array.from({ length: 20 }, (_, i) => `u-mem-${i}`);
    for (const u of users)
      await w.t.app.core.data.updateMemory(`http:alpha:${u}`, () => ({
        facts: { city: { value: 'Austin', updated_at: new Date().toISOString() } },
      }));
    const answerLookups = async () => {
      const text = await (await fetch(`${w.t.opsUrl}/metrics`, { headers: { accept: 'text/plain' } })).text();
      return [...text.matchAll(/^realty_cache_requests_total\{source="answer",result="\w+"\} (\d+)$/gm)]
        .map((m) => Number(m[1]))
        .reduce((a, b) => a + b, 0);
    };
    const lookupsBefore = await answerLookups();
    const replies = await Promise.all(users.map((u) => w.chat({ message: 'homes under 700k', user_id: u })));
    expect(replies.every((r) => r.status === 200 && r.json.cached === false)).toBe(true);
    expect(w.openai.chatRequests()).toHaveLength(80);
    expect(w.realty.searches).toHaveLength(1);
    // A personal question never uses a shared answer, so it is no answer-cache lookup in the metrics.
    expect(await answerLookups()).toBe(lookupsBefore);
  });

  it('streams the model tokens as server-sent events, in order', async () => {
    const chunks = ['Austin ', 'has ', 'two ', 'good ', 'matches.'];
    w.openai.setDefault(
      byRole((req, role, afterTool) => {
        if (role === 'orchestrator' && !afterTool)
          return {
            toolCalls: [
              { name: 'delegate', arguments: { assistant: 'property_research', task: 'homes in Austin' } },
            ],
          };
        if (role === 'orchestrator') return { content: chunks.join(''), chunks };
        if (!afterTool)
          return {
            toolCalls: [{ name: 'search_homes_for_sale', arguments: { city: 'Austin', state: 'TX' } }],
          };
        return { content: `found: ${lastOf(req).text.slice(0, 40)}` };
      }),
    );
    const res = await fetch(`${w.t.baseUrl}/v1/chat`, {
      method: 'POST',
      headers: { ...authHeaders(), accept: 'text/event-stream' },
      body: JSON.stringify({ message: 'stream me homes', user_id: 'u-stream' }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const frames = (await res.text())
      .split('\n\n')
      .filter((f) => f.startsWith('event:'))
      .map((f) => ({
        event: /^event: (\w+)/.exec(f)?.[1],
        data: JSON.parse(f.slice(f.indexOf('data: ') + 6)) as { text?: string; reply?: string },
      }));
    expect(frames.filter((f) => f.event === 'token').map((f) => f.data.text)).toEqual(chunks);
    expect(frames.at(-1)).toMatchObject({ event: 'done', data: { reply: chunks.join('') } });
    const requests = w.openai.chatRequests();
    expect(requests.filter((r) => roleOf(r) === 'orchestrator').every((r) => r.stream === true)).toBe(true);
    expect(requests.filter((r) => roleOf(r) === 'property_research').some((r) => r.stream)).toBe(false);
  });

  it('writes a report to the data store, lists it and reads it back for its author only', async () => {
    const markdown = '# Austin under 500k\n\n- 4512 Avenue F: $449,000, 3 beds\n';
    let savedId = '';
    w.openai.setDefault(
      byRole((req, role, afterTool) => {
        const text = lastOf(req).text;
        if (role === 'orchestrator')
          return afterTool
            ? { content: `Report: ${text}` }
            : {
                toolCalls: [
                  { name: 'delegate', arguments: { assistant: 'report_writer', task: 'write it up' } },
                ],
              };
        if (!afterTool)
          return { toolCalls: [{ name: 'save_report', arguments: { title: 'Austin homes', markdown } }] };
        savedId = (JSON.parse(text) as { report_id: string }).report_id;
        return { content: `Saved as ${savedId}` };
      }),
    );
    const res = await w.chat({ message: 'write me a report', user_id: 'u-report' });
    expect(res.status).toBe(200);
    expect(savedId).toMatch(/^\d{8}-\d{6}-austin-homes-[0-9a-f]{8}$/);
    expect(res.json.reply).toContain(savedId);
    const listed = await w.t.app.core.data.listReports({ author: 'http:alpha:u-report' });
    expect(listed.map((r) => [r.id, r.title])).toEqual([[savedId, 'Austin homes']]);
    expect((await w.t.app.core.data.getReport(savedId))?.body).toBe(markdown);

    // The report writer lists and reads it through its tools; another user cannot read it.
    const seen: string[] = [];
    w.openai.setDefault(
      byRole((req, role, afterTool) => {
        if (role === 'orchestrator')
          return afterTool
            ? { content: 'done' }
            : {
                toolCalls: [{ name: 'delegate', arguments: { assistant: 'report_writer', task: 'read it' } }],
              };
        const tools = req.messages.filter((m) => m.role === 'tool').length;
        if (afterTool) seen.push(lastOf(req).text);
        if (tools === 0) return { toolCalls: [{ name: 'list_reports', arguments: {} }] };
        if (tools === 1) return { toolCalls: [{ name: 'read_report', arguments: { id: savedId } }] };
        return { content: 'read' };
      }),
    );
    await w.chat({ message: 'show my reports', user_id: 'u-report' });
    expect(seen[0]).toContain(savedId);
    expect(JSON.parse(seen[1] as string)).toMatchObject({ id: savedId, markdown });
    seen.length = 0;
    await w.chat({ message: 'show my reports', user_id: 'u-intruder' });
    expect(JSON.parse(seen[0] as string)).toEqual({ reports: [] });
    expect(seen[1]).toContain('no report with id');
  });
});
