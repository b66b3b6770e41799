import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent, streaming } from '../fakes/fake-agent.js';
import { authHeaders, startTestApp, type TestApp } from '../helpers/app.js';
import { jsonOf } from '../helpers/http.js';

describe('POST /v1/chat over a real socket', () => {
  let t: TestApp;
  const agent = new FakeAgent();
  beforeAll(async () => {
    t = await startTestApp({ agent });
  });
  afterAll(() => t.stop());

  it('answers with reply, conversation_id, trace_id and cached, and rate-limit headers', async () => {
    const res = await fetch(`${t.baseUrl}/v1/chat`, {
      method: 'POST',
      headers: authHeaders(),
      body: JSON.stringify({ message: 'hello', user_id: 'u1', conversation_id: 'c-1' }),
    });
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    expect(body).toMatchObject({ reply: 'echo: hello', conversation_id: 'c-1', cached: false });
    expect(body.trace_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('ratelimit-policy')).toBe('"default";q=20;w=60');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('19');
    expect(agent.calls.at(-1)).toMatchObject({ platform: 'http', userId: 'http:alpha:u1', text: 'hello' });
  });

  it('puts the request id on every log line of a request, and the trace id on every line of the message', async () => {
    const res = await fetch(`${t.baseUrl}/v1/chat`, {
      method: 'POST',
      headers: { ...authHeaders(), 'x-request-id': 'req-abc-123' },
      body: JSON.stringify({ message: 'log me', user_id: 'u2' }),
    });
    expect(res.headers.get('x-request-id')).toBe('req-abc-123');
    const { trace_id } = await jsonOf(res);
    const lines = t.logs.lines().filter((l) => l.req_id === 'req-abc-123');
    expect(lines.map((l) => l.msg)).toEqual(['message answered', 'request']);
    const messageLines = t.logs.lines().filter((l) => l.trace_id === trace_id);
    expect(messageLines).toHaveLength(1);
    expect(messageLines[0]).toMatchObject({
      platform: 'http',
      conversation_id: expect.stringMatching(/^conv_/),
    });
    expect(JSON.stringify(messageLines)).not.toContain('http:alpha:u2'); // users are hashed in logs
  });

  it('streams server-sent events when asked', async () => {
    const streamingApp = await startTestApp({ agent: new FakeAgent(streaming(['Hel', 'lo ', 'there'])) });
    try {
      const res = await fetch(`${streamingApp.baseUrl}/v1/chat`, {
        method: 'POST',
        headers: { ...authHeaders(), accept: 'text/event-stream' },
        body: JSON.stringify({ message: 'hi' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      expect(res.headers.get('x-ratelimit-limit')).toBe('20');
      const text = await res.text();
      const events = text
        .trim()
        .split('\n\n')
        .map((f) => ({
          event: /event: (.*)/.exec(f)?.[1],
          data: JSON.parse(/data: (.*)/.exec(f)?.[1] ?? 'null'),
        }));
      expect(events.filter((e) => e.event === 'token').map((e) => e.data.text)).toEqual([
        'Hel',
        'lo ',
        'there',
      ]);
      expect(events.at(-1)).toMatchObject({ event: 'done', data: { reply: 'Hello there', cached: false } });
    } finally {
      await streamingApp.stop();
    }
  });
});
