import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnconfiguredAgent } from '../../src/core/unconfigured-agent.js';
import { delayed, FakeAgent } from '../fakes/fake-agent.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { TEST_SECRETS } from '../helpers/secrets.js';

const KEY = TEST_SECRETS.apiKey;
const JSON_CT = 'application/json';
const auth = { authorization: `Bearer ${KEY}` };

interface Case {
  name: string;
  method?: 'POST' | 'GET' | 'PUT' | 'DELETE';
  url?: string;
  headers?: Record<string, string>;
  body?: string;
  status: number;
  code: string;
  /** Extra header expectations. */
  expectHeaders?: Record<string, string | RegExp>;
}

const body = (o: unknown) => JSON.stringify(o);

/** Requests a client can get wrong, each with the answer it must get. */
const CASES: Case[] = [
  {
    name: 'no credentials',
    headers: { 'content-type': JSON_CT },
    body: body({ message: 'hi' }),
    status: 401,
    code: 'unauthorized',
    expectHeaders: { 'www-authenticate': /Bearer/ },
  },
  {
    name: 'unknown key',
    headers: { authorization: 'Bearer not-a-real-key-000', 'content-type': JSON_CT },
    body: body({ message: 'hi' }),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'basic auth instead of bearer',
    headers: {
      authorization: `Basic ${Buffer.from(`x:${KEY}`).toString('base64')}`,
      'content-type': JSON_CT,
    },
    body: body({ message: 'hi' }),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'empty X-API-Key',
    headers: { 'x-api-key': '', 'content-type': JSON_CT },
    body: body({ message: 'hi' }),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'key in the query string',
    url: `/v1/chat?api_key=${KEY}`,
    headers: { 'content-type': JSON_CT },
    body: body({ message: 'hi' }),
    status: 400,
    code: 'api_key_in_query',
  },
  {
    name: 'malformed JSON',
    headers: { ...auth, 'content-type': JSON_CT },
    body: '{"message": "hi"',
    status: 400,
    code: 'invalid_json',
  },
  {
    name: 'empty JSON body',
    headers: { ...auth, 'content-type': JSON_CT },
    body: '',
    status: 400,
    code: 'invalid_json',
  },
  {
    name: 'prototype pollution',
    headers: { ...auth, 'content-type': JSON_CT },
    body: '{"message":"hi","__proto__":{"admin":true}}',
    status: 400,
    code: 'invalid_json',
  },
  {
    name: 'text/plain body',
    headers: { ...auth, 'content-type': 'text/plain' },
    body: 'hello',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'form-encoded body',
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'message=hi',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'missing message',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ user_id: 'u1' }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'empty message',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ message: '' }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'blank message',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ message: '   \n\t ' }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'message of the wrong type',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ message: 42 }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'message too long',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ message: 'x'.repeat(501) }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'unknown field',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ message: 'hi', admin: true }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'array body',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body([{ message: 'hi' }]),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'null body',
    headers: { ...auth, 'content-type': JSON_CT },
    body: 'null',
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'user_id with a path in it',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ message: 'hi', user_id: '../../etc/passwd' }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'user_id of the wrong type',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ message: 'hi', user_id: ['a'] }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'header injection in conversation_id',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ message: 'hi', conversation_id: 'c1\r\nSet-Cookie: x=1' }),
    status: 400,
    code: 'validation_failed',
  },
  {
    name: 'Idempotency-Key with spaces',
    headers: { ...auth, 'content-type': JSON_CT, 'idempotency-key': 'has spaces in it' },
    body: body({ message: 'hi' }),
    status: 400,
    code: 'invalid_header',
  },
  {
    name: 'Idempotency-Key too long',
    headers: { ...auth, 'content-type': JSON_CT, 'idempotency-key': 'k'.repeat(256) },
    body: body({ message: 'hi' }),
    status: 400,
    code: 'invalid_header',
  },
  {
    name: 'body over the limit',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ message: 'x'.repeat(3000) }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'GET on the chat route',
    method: 'GET',
    headers: auth,
    status: 405,
    code: 'method_not_allowed',
    expectHeaders: { allow: 'POST' },
  },
  {
    name: 'unknown API route',
    url: '/v1/nothing-here',
    headers: { ...auth, 'content-type': JSON_CT },
    body: body({ message: 'hi' }),
    status: 404,
    code: 'not_found',
  },
  { name: 'unknown route outside the API', method: 'GET', url: '/admin', status: 404, code: 'not_found' },
  {
    name: 'no credentials on a percent-encoded API path',
    url: '/%761/chat',
    headers: { 'content-type': JSON_CT },
    body: body({ message: 'hi' }),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'key in the query of a percent-encoded API path',
    url: '/%761/chat?api_key=abc',
    headers: { 'content-type': JSON_CT },
    body: body({ message: 'hi' }),
    status: 400,
    code: 'api_key_in_query',
  },
];

describe('bad requests get a 4xx problem with a stable code and rate-limit headers', () => {
  let t: TestApp;
  const agent = new FakeAgent();
  beforeAll(async () => {
    t = await startTestApp({
      agent,
      env: {
        MESSAGE_MAX_CHARS: '500',
        HTTP_BODY_LIMIT_BYTES: '2048',
        RATE_LIMIT_UNAUTHENTICATED_POINTS: '1000',
      },
    });
  });
  afterAll(() => t.stop());

  it.each(CASES)('$name → $status $code', async (c) => {
    const res = await t.app.http.app.inject({
      method: c.method ?? 'POST',
      url: c.url ?? '/v1/chat',
      headers: c.headers,
      payload: c.body,
    });
    expect(res.statusCode).toBe(c.status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem).toMatchObject({ status: c.status, code: c.code });
    expect(typeof problem.title).toBe('string');
    expect(typeof problem.detail).toBe('string');
    expect(res.body).not.toContain(KEY);
    expect(res.headers['ratelimit-policy']).toMatch(/^"default";q=\d+;w=\d+$/);
    expect(res.headers.ratelimit).toMatch(/^"default";r=\d+;t=\d+$/);
    expect(res.headers['x-ratelimit-limit']).toMatch(/^\d+$/);
    expect(res.headers['x-ratelimit-remaining']).toMatch(/^\d+$/);
    expect(res.headers['x-ratelimit-reset']).toMatch(/^\d+$/);
    expect(res.headers['x-request-id']).toBeTruthy();
    for (const [name, want] of Object.entries(c.expectHeaders ?? {})) {
      if (typeof want === 'string') expect(res.headers[name]).toBe(want);
      else expect(String(res.headers[name])).toMatch(want);
    }
  });

  it('never ran the agent for any of them', () => {
    expect(agent.calls).toHaveLength(0);
  });

  it('counts every refusal in the metrics, by code', async () => {
    const metrics = t.app.core.metrics;
    const json = metrics.json();
    const chatCases = CASES.filter((c) => (c.url ?? '/v1/chat').startsWith('/v1/chat'));
    expect(json.requests_total).toBe(chatCases.length);
    expect(json.errors_total).toBe(chatCases.length);
    expect(json.errors_by_type.auth).toBe(
      CASES.filter(
        (c) =>
          ['unauthorized', 'api_key_in_query'].includes(c.code) &&
          (c.url ?? '/v1/chat').startsWith('/v1/chat'),
      ).length,
    );
    const text = (await metrics.prometheus()).body;
    expect(text).toMatch(/realty_rejected_requests_total\{code="unsupported_media_type"\} 2/);
    expect(text).toMatch(/realty_rejected_requests_total\{code="not_found"\} 2/);
  });
});

describe('limits, idempotency, timeouts and an unconfigured model', () => {
  it('rate-limits a user: 429 with Retry-After, other users unaffected', async () => {
    const t = await startTestApp({ env: { RATE_LIMIT_POINTS: '2', RATE_LIMIT_DURATION_SECONDS: '60' } });
    try {
      const send = (user: string) =>
        t.app.http.app.inject({
          method: 'POST',
          url: '/v1/chat',
          headers: { ...auth, 'content-type': JSON_CT },
          payload: body({ message: 'hi', user_id: user }),
        });
      expect((await send('a')).statusCode).toBe(200);
      const second = await send('a');
      expect(second.statusCode).toBe(200);
      expect(second.headers['x-ratelimit-remaining']).toBe('0');
      const third = await send('a');
      expect(third.statusCode).toBe(429);
      expect(third.json().code).toBe('rate_limited');
      expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(third.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(third.headers.ratelimit).toMatch(/^"default";r=0;t=\d+$/);
      expect((await send('b')).statusCode).toBe(200);
      expect(t.app.core.metrics.json().rate_limited_total).toBe(1);
    } finally {
      await t.stop();
    }
  });

  it('releases the idempotency claim of a request that was rate-limited, so its retry can run later', async () => {
    const t = await startTestApp({ env: { RATE_LIMIT_POINTS: '1' } });
    try {
      const send = (key: string) =>
        t.app.http.app.inject({
          method: 'POST',
          url: '/v1/chat',
          headers: { ...auth, 'content-type': JSON_CT, 'idempotency-key': key },
          payload: body({ message: 'hi' }),
        });
      expect((await send('first')).statusCode).toBe(200);
      expect((await send('second')).statusCode).toBe(429);
      expect(await t.app.core.idempotency.peek('idem', 'http:alpha:default:second')).toBeUndefined();
      expect(await t.app.core.idempotency.peek('idem', 'http:alpha:default:first')).toMatchObject({
        status: 'done',
      });
    } finally {
      await t.stop();
    }
  });

  it('applies per-key and per-platform overrides', async () => {
    const t = await startTestApp({
      env: { RATE_LIMIT_POINTS: '5', RATE_LIMIT_OVERRIDES: 'key:bravo=1/30,platform:http=3/60' },
    });
    try {
      const send = (key: string) =>
        t.app.http.app.inject({
          method: 'POST',
          url: '/v1/chat',
          headers: { authorization: `Bearer ${key}`, 'content-type': JSON_CT },
          payload: body({ message: 'hi' }),
        });
      const alpha = await send(TEST_SECRETS.apiKey);
      expect(alpha.headers['ratelimit-policy']).toBe('"default";q=3;w=60');
      const bravo = await send(TEST_SECRETS.apiKey2);
      expect(bravo.headers['ratelimit-policy']).toBe('"default";q=1;w=30');
      expect((await send(TEST_SECRETS.apiKey2)).statusCode).toBe(429);
    } finally {
      await t.stop();
    }
  });

  it('replays an idempotent request instead of running the agent twice, and refuses a reused key', async () => {
    const agent = new FakeAgent();
    const t = await startTestApp({ agent });
    try {
      const send = (message: string, key = 'order-123') =>
        t.app.http.app.inject({
          method: 'POST',
          url: '/v1/chat',
          headers: { ...auth, 'content-type': JSON_CT, 'idempotency-key': key },
          payload: body({ message, conversation_id: 'c1' }),
        });
      const [a, b, c] = await Promise.all([send('hello'), send('hello'), send('hello')]);
      const first = (await send('hello')).json();
      expect(agent.calls).toHaveLength(1);
      for (const r of [a, b, c]) expect(r.statusCode).toBe(200);
      expect(first).toMatchObject({ reply: 'echo: hello', cached: true, trace_id: a.json().trace_id });
      const reused = await send('something else');
      expect(reused.statusCode).toBe(422);
      expect(reused.json().code).toBe('idempotency_key_reused');
    } finally {
      await t.stop();
    }
  });

  it('refuses a reused key while the first request still runs in this process, never handing over its answer', async () => {
    const agent = new FakeAgent(async (m, ctx) => {
      await delayed(300)(m, ctx);
      return { text: `echo: ${m.text}` };
    });
    const t = await startTestApp({ agent });
    try {
      const send = (message: string, conversation: string) =>
        t.app.http.app.inject({
          method: 'POST',
          url: '/v1/chat',
          headers: { ...auth, 'content-type': JSON_CT, 'idempotency-key': 'shared-key-1' },
          payload: body({ message, conversation_id: conversation }),
        });
      const running = send('first message', 'c1');
      await expect.poll(() => agent.calls.length).toBe(1); // the first one runs now
      const [first, other, same] = await Promise.all([
        running,
        send('a different message', 'c2'),
        send('first message', 'c1'),
      ]);
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({ reply: 'echo: first message', conversation_id: 'c1' });
      expect(other.statusCode).toBe(422);
      expect(other.json().code).toBe('idempotency_key_reused');
      expect(JSON.stringify(other.json())).not.toContain('echo: first message');
      expect(same.statusCode).toBe(200);
      expect(same.json()).toMatchObject({ reply: 'echo: first message', cached: true });
      expect(agent.calls).toHaveLength(1);
    } finally {
      await t.stop();
    }
  });

  it('gives 504 when the agent runs past its time budget, and aborts it', async () => {
    let aborted = false;
    const agent = new FakeAgent(async (m, ctx) => {
      ctx.signal.addEventListener('abort', () => {
        aborted = true;
      });
      return delayed(10_000)(m, ctx);
    });
    const t = await startTestApp({ agent, env: { AGENT_TIMEOUT_MS: '200' } });
    try {
      const res = await t.app.http.app.inject({
        method: 'POST',
        url: '/v1/chat',
        headers: { ...auth, 'content-type': JSON_CT },
        payload: body({ message: 'hi' }),
      });
      expect(res.statusCode).toBe(504);
      expect(res.json().code).toBe('agent_timeout');
      expect(res.headers['x-ratelimit-limit']).toBe('20');
      expect(aborted).toBe(true);
      expect(t.app.core.metrics.json().errors_by_type.timeout).toBe(1);
    } finally {
      await t.stop();
    }
  });

  it('answers 503 llm_not_configured without a model', async () => {
    const t = await startTestApp({ agent: new UnconfiguredAgent() });
    try {
      const res = await t.app.http.app.inject({
        method: 'POST',
        url: '/v1/chat',
        headers: { ...auth, 'content-type': JSON_CT },
        payload: body({ message: 'hi' }),
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'llm_not_configured' });
      expect(res.json().detail).toContain('OPENAI_API_KEY');
    } finally {
      await t.stop();
    }
  });

  it('refuses garbage past the per-address budget with 429', async () => {
    const t = await startTestApp({ env: { RATE_LIMIT_UNAUTHENTICATED_POINTS: '3' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await t.app.http.app.inject({
          method: 'POST',
          url: '/v1/chat',
          headers: { authorization: 'Bearer guess-000000000000' },
          payload: '{}',
        });
        statuses.push(r.statusCode);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await t.stop();
    }
  });
});
