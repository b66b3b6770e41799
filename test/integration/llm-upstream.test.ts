import { getEventListeners } from 'node:events';
import { ChatOpenAI } from '@langchain/openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortScope } from '../../src/core/abort-scope.js';
import { AbortControllerPool } from '../../src/core/controller-pool.js';
import { OverloadedError } from '../../src/core/errors.js';
import { classifyUpstreamError } from '../../src/upstream/classify.js';
import { OpenAiFake } from '../fakes/openai-server.js';
import { TEST_SECRETS } from '../helpers/secrets.js';
import { type ToolStack, toolStack } from '../helpers/upstreams.js';

/**
 * The `llm` upstream under ChatOpenAI: its `fetch` gives the model the limiter, retries honouring
 * Retry-After, typed errors and the bad-key-logged-once rule, with the SDK's own retries off.
 */
describe('ChatOpenAI through the llm upstream', () => {
  let fake: OpenAiFake;
  let stack: ToolStack;
  const model = () =>
    new ChatOpenAI({
      model: 'gpt-fake',
      apiKey: TEST_SECRETS.openAiKey,
      maxRetries: 0,
      configuration: { baseURL: fake.baseUrl, fetch: stack.upstreams.llm.fetch },
    });
  const failure = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeDefined();
    return classifyUpstreamError(err, 'llm', 'llm');
  };

  beforeEach(async () => {
    fake = await OpenAiFake.start();
    stack = await toolStack({ OPENAI_API_KEY: TEST_SECRETS.openAiKey }, 'llm');
  });
  afterEach(async () => {
    await stack.close();
    await fake.close();
  });

  it('retries a 429 honouring Retry-After, then answers', async () => {
    fake.reply({ error: 429, retryAfter: 1, message: 'Rate limit reached' }, { content: 'Here are homes' });
    const started = Date.now();
    const msg = await model().invoke('3-bed homes in Austin under 500k');
    expect(msg.content).toBe('Here are homes');
    const reqs = fake.http.requestsTo('/v1/chat/completions');
    expect(reqs).toHaveLength(2);
    expect((reqs[1]?.at ?? 0) - (reqs[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(fake.chatRequests()[1]?.messages).toEqual(fake.chatRequests()[0]?.messages);
  });

  it('gives a clear llm error on 401, logged once, counted each time', async () => {
    fake.setDefault({ error: 401, message: 'Incorrect API key provided' });
    for (let i = 0; i < 2; i++) {
      const err = await failure(model().invoke('hi'));
      expect(err).toMatchObject({ code: 'llm_auth', status: 502, httpStatus: 401 });
    }
    expect(fake.http.requests).toHaveLength(2); // never retried
    expect(stack.errors).toEqual([
      { type: 'llm', code: 'llm_auth' },
      { type: 'llm', code: 'llm_auth' },
    ]);
    const loud = stack.logs.lines().filter((l) => String(l.msg).includes('rejected the API key'));
    expect(loud).toHaveLength(1);
    expect(String(loud[0]?.msg)).toContain('OPENAI_API_KEY');
    expect(JSON.stringify(stack.logs.lines())).not.toContain(TEST_SECRETS.openAiKey);
    expect(stack.upstreams.llm.health()).toMatchObject({ status: 'failing', last_error: 'auth' });
  });

  it('passes the last 5xx to the SDK after the retries', async () => {
    fake.setDefault({ error: 500 });
    const err = await failure(model().invoke('hi'));
    expect(err).toMatchObject({ code: 'llm_error', httpStatus: 500 });
    expect(fake.http.requests).toHaveLength(3); // 1 + UPSTREAM_MAX_RETRIES (2)
    expect(stack.errors).toEqual([{ type: 'llm', code: 'llm_error' }]);
  });

  it('stops a hanging model when the run is aborted, and at LLM_TIMEOUT_MS', async () => {
    fake.setDefault({ fault: 'hang' });
    const started = Date.now();
    await expect(model().invoke('hi', { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1500);
    await expect.poll(() => fake.http.inFlight).toBe(0);
    await stack.close();
    stack = await toolStack({ OPENAI_API_KEY: TEST_SECRETS.openAiKey, LLM_TIMEOUT_MS: '300' }, 'llm');
    const err = await failure(model().invoke('hi'));
    expect(err).toMatchObject({ code: 'llm_timeout', status: 504 });
    await expect.poll(() => fake.http.inFlight).toBe(0);
  });

  it("reuses a finished run's signal that the SDK left a listener on, and it still stops the next call", async () => {
    const pool = new AbortControllerPool();
    fake.reply({ content: 'first answer' });
    const first = new AbortScope(pool);
    const signal = first.signal;
    expect((await model().invoke('hi', { signal })).content).toBe('first answer');
    // The OpenAI SDK leaves its abort listener on the caller's signal after each request.
    expect(getEventListeners(signal, 'abort').length).toBeGreaterThan(0);
    first.end();
    expect(signal.aborted).toBe(false);
    expect(pool.size).toBe(1);

    const second = new AbortScope(pool);
    expect(second.signal).toBe(signal);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    fake.setDefault({ fault: 'hang' });
    const started = Date.now();
    const call = model().invoke('hang', { signal: second.signal });
    call.catch(() => undefined);
    await expect.poll(() => fake.http.inFlight).toBe(1);
    second.abort(new Error('the user left'));
    await expect(call).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1500);
    await expect.poll(() => fake.http.inFlight).toBe(0);
  });

  it('streams tokens through the upstream', async () => {
    fake.reply({ content: 'a b c', chunks: ['a ', 'b ', 'c'] });
    const parts: string[] = [];
    for await (const chunk of await model().stream('go'))
      if (typeof chunk.content === 'string' && chunk.content) parts.push(chunk.content);
    expect(parts).toEqual(['a ', 'b ', 'c']);
  });

  it('sheds a call beyond the queue with OverloadedError, found through the SDK wrapper', async () => {
    await stack.close();
    stack = await toolStack(
      { OPENAI_API_KEY: TEST_SECRETS.openAiKey, LLM_MAX_CONCURRENT: '1', LLM_QUEUE_LIMIT: '0' },
      'llm',
    );
    fake.reply({ content: 'slow', delayMs: 200 }, { content: 'never' });
    const first = model().invoke('one');
    await new Promise((r) => setTimeout(r, 20));
    const err = await failure(model().invoke('two'));
    expect(err).toBeInstanceOf(OverloadedError);
    expect((await first).content).toBe('slow');
    expect(fake.http.requests).toHaveLength(1);
  });
});
