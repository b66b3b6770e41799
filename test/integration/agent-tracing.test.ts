import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashUserId } from '../../src/core/pipeline.js';
import { LangSmithFake, type RecordedRun } from '../fakes/langsmith-server.js';
import { type AgentWorld, searchScript, startAgentWorld } from '../helpers/agent.js';
import { TEST_SECRETS } from '../helpers/secrets.js';

/** With LangSmith configured, each message is one trace whose root run id is the reply's trace_id. */
describe('LangSmith tracing of agent runs', () => {
  let ls: LangSmithFake;
  let w: AgentWorld;
  beforeAll(async () => {
    ls = await LangSmithFake.start();
    w = await startAgentWorld({
      LANGSMITH_TRACING: 'true',
      LANGSMITH_API_KEY: TEST_SECRETS.langsmithKey,
      LANGSMITH_ENDPOINT: ls.url,
      LANGSMITH_PROJECT: 'agent-tests',
    });
  });
  afterAll(async () => {
    await w.close();
    await ls.close();
  });

  it('sends the run tree; the root run id is the trace_id of the reply and of the log lines', async () => {
    w.openai.setDefault(searchScript({ city: 'Austin', state: 'TX', minBeds: 3, maxPrice: 500_000 }));
    const res = await w.chat({
      message: 'traced: homes in Austin',
      user_id: 'u-trace',
      conversation_id: 'conv-t',
    });
    expect(res.status).toBe(200);
    const traceId = res.json.trace_id as string;
    await w.t.app.core.agentServices.tracing?.flush();
    const runs = await ls.waitFor(
      (all) => all.filter((r) => r.trace_id === traceId && r.end_time).length >= 7,
    );
    const tree = runs.filter((r) => r.trace_id === traceId);

    const root = ls.run(traceId) as RecordedRun;
    expect(root).toMatchObject({ name: 'real-estate-agent', run_type: 'chain', session_name: 'agent-tests' });
    expect(root.parent_run_id ?? null).toBeNull();
    expect(ls.rootRuns().filter((r) => r.trace_id === traceId)).toHaveLength(1);
    const user = hashUserId('http:alpha:u-trace');
    expect(root.tags).toEqual(
      expect.arrayContaining(['platform:http', 'conversation:conv-t', `user:${user}`]),
    );
    expect(root.extra?.metadata).toMatchObject({ platform: 'http', conversation_id: 'conv-t', user });
    expect(JSON.stringify(root.outputs)).toContain('4512 Avenue F');
    expect(JSON.stringify(tree)).not.toContain('http:alpha:u-trace');

    // orchestrator model -> delegate tool -> (subagent model -> search tool -> subagent model) -> model
    const byName = (name: string) => tree.filter((r) => r.name === name);
    expect(byName('ChatOpenAI')).toHaveLength(4);
    const [delegate] = byName('delegate');
    const [search] = byName('search_homes_for_sale');
    expect(delegate?.parent_run_id).toBe(traceId);
    expect(search?.parent_run_id).toBe(delegate?.id);
    expect(byName('ChatOpenAI').filter((r) => r.parent_run_id === delegate?.id)).toHaveLength(2);

    const answered = w.t.logs.lines().find((l) => l.msg === 'message answered' && l.trace_id === traceId);
    expect(answered).toBeDefined();
    expect(ls.http.requests.some((r) => r.headers['x-api-key'] === TEST_SECRETS.langsmithKey)).toBe(true);
  });

  it('flushes pending traces when the service stops', async () => {
    w.openai.reset();
    w.openai.setDefault({ content: 'last words' });
    const res = await w.chat({ message: 'one more before shutdown', user_id: 'u-trace-2' });
    const traceId = res.json.trace_id as string;
    await w.t.stop();
    expect(ls.run(traceId)).toMatchObject({ name: 'real-estate-agent' });
    expect(ls.run(traceId)?.end_time).toBeDefined();
  });
});
