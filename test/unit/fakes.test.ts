import type { AIMessageChunk } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { Client } from 'langsmith';
import { RunTree } from 'langsmith/run_trees';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { LangSmithFake } from '../fakes/langsmith-server.js';
import { OpenAiFake } from '../fakes/openai-server.js';
import { OsmFake, parseOverpassQuery } from '../fakes/osm-server.js';
import { RealtyFake, type RealtyFixture } from '../fakes/realty-server.js';
import { TEST_SECRETS } from '../helpers/secrets.js';

describe('OpenAI fake, driven by ChatOpenAI (@langchain/openai 1.5.8)', () => {
  let fake: OpenAiFake;
  const model = (extra: Record<string, unknown> = {}) =>
    new ChatOpenAI({
      model: 'gpt-fake',
      apiKey: TEST_SECRETS.openAiKey,
      configuration: { baseURL: fake.baseUrl },
      maxRetries: 0,
      ...extra,
    });
  beforeAll(async () => {
    fake = await OpenAiFake.start();
  });
  afterAll(() => fake.close());

  it('answers plainly, with usage, and records what the model was sent', async () => {
    fake
      .reset()
      .reply({ content: 'Hello from the fake', usage: { prompt_tokens: 12, completion_tokens: 4 } });
    const msg = await model().invoke([
      ['system', 'be brief'],
      ['human', 'hi'],
    ]);
    expect(msg.content).toBe('Hello from the fake');
    expect(msg.usage_metadata).toMatchObject({ input_tokens: 12, output_tokens: 4, total_tokens: 16 });
    const [sent] = fake.chatRequests();
    expect(sent?.model).toBe('gpt-fake');
    expect(sent?.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${TEST_SECRETS.openAiKey}`);
  });

  it('returns tool calls, and the tools reach the request', async () => {
    const search = tool(async () => '[]', {
      name: 'search_homes',
      description: 'Search homes for sale',
      schema: z.object({ city: z.string(), maxPrice: z.number() }),
    });
    fake
      .reset()
      .reply({ toolCalls: [{ name: 'search_homes', arguments: { city: 'Austin', maxPrice: 500000 } }] });
    const msg = await model().bindTools([search]).invoke('3-bed homes in Austin under 500k');
    expect(msg.tool_calls).toEqual([
      expect.objectContaining({
        name: 'search_homes',
        args: { city: 'Austin', maxPrice: 500000 },
        id: 'call_0_0',
      }),
    ]);
    const sent = fake.chatRequests()[0];
    expect(sent?.tools?.[0]?.function.name).toBe('search_homes');
    expect(sent?.tools?.[0]?.function.parameters).toMatchObject({ properties: { city: { type: 'string' } } });
  });

  it('streams chunks with a final usage chunk', async () => {
    fake.reset().reply({ content: 'one two three', chunks: ['one ', 'two ', 'three'] });
    const pieces: string[] = [];
    let usage: unknown;
    let last: AIMessageChunk | undefined;
    for await (const chunk of await model({ streamUsage: true }).stream('count')) {
      if (typeof chunk.content === 'string' && chunk.content) pieces.push(chunk.content);
      if (chunk.usage_metadata) usage = chunk.usage_metadata;
      last = last ? last.concat(chunk) : chunk;
    }
    expect(pieces).toEqual(['one ', 'two ', 'three']);
    expect(usage).toMatchObject({ input_tokens: 10, output_tokens: 5 });
    expect(last?.content).toBe('one two three');
    expect(fake.chatRequests()[0]).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('streams tool calls', async () => {
    fake.reset().reply({ toolCalls: [{ name: 'search_homes', arguments: { city: 'Austin' } }] });
    let all: AIMessageChunk | undefined;
    for await (const chunk of await model().stream('go')) all = all ? all.concat(chunk) : chunk;
    expect(all?.tool_calls?.[0]).toMatchObject({ name: 'search_homes', args: { city: 'Austin' } });
  });

  it('fails with 401, and 429 carrying Retry-After', async () => {
    fake.reset().reply({ error: 401, message: 'Incorrect API key provided' }, { error: 429, retryAfter: 2 });
    await expect(model().invoke('x')).rejects.toMatchObject({
      status: 401,
      lc_error_code: 'MODEL_AUTHENTICATION',
    });
    const err = (await model()
      .invoke('x')
      .catch((e: unknown) => e)) as { status: number; headers: Headers };
    expect(err.status).toBe(429);
    expect(err.headers.get('retry-after')).toBe('2');
    fake.http.fail({ kind: 'status', status: 500, body: { error: { message: 'boom' } } });
    await expect(model().invoke('x')).rejects.toMatchObject({ status: 500 });
  });

  it('hangs until the client aborts, leaving no connection open', async () => {
    fake.reset().reply({ fault: 'hang' });
    const started = Date.now();
    await expect(model().invoke('x', { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(fake.chatRequests()).toHaveLength(1);
    await expect.poll(() => fake.http.inFlight, { timeout: 2000 }).toBe(0);
  });
});

describe('Realty US fake, driven by fetch', () => {
  let fake: RealtyFake;
  beforeAll(async () => {
    fake = await RealtyFake.start({ apiKey: TEST_SECRETS.rapidApiKey, host: 'realty-us.p.rapidapi.com' });
  });
  afterAll(() => fake.close());
  const headers = {
    'x-rapidapi-key': TEST_SECRETS.rapidApiKey,
    'x-rapidapi-host': 'realty-us.p.rapidapi.com',
  };
  const search = async (
    path: string,
    params: Record<string, string>,
    h: Record<string, string> = headers,
  ) => {
    const res = await fetch(`${fake.url}${path}?${new URLSearchParams(params)}`, { headers: h });
    return {
      status: res.status,
      body: (await res.json()) as { data: { results: RealtyFixture[]; total: number } },
    };
  };

  it('filters by city, bedrooms and price, and records the headers', async () => {
    const { status, body } = await search('/properties/search-buy', {
      location: 'city:Austin, TX',
      bedrooms: '3',
      prices: ',500000',
      resultsPerPage: '10',
      sortBy: 'lowest_price',
    });
    expect(status).toBe(200);
    const prices = body.data.results.map((r) => r.list_price);
    expect(prices).toEqual([389000, 449000]);
    expect(body.data.results.every((r) => r.location.address.city === 'Austin')).toBe(true);
    const last = fake.searches.at(-1);
    expect(last?.headers['x-rapidapi-host']).toBe('realty-us.p.rapidapi.com');
    expect(last?.query.get('location')).toBe('city:Austin, TX');
  });

  it('serves rentals and property types', async () => {
    const { body } = await search('/properties/search-rent', {
      location: 'city:Austin, TX',
      propertyType: 'apartment',
      resultsPerPage: '8',
    });
    expect(body.data.results.map((r) => r.list_price).sort()).toEqual([1450, 2100]);
  });

  it('answers 401 without a key, 403 with a wrong one, and scripted faults', async () => {
    expect((await search('/properties/search-buy', { location: 'city:Austin, TX' }, {})).status).toBe(401);
    expect(
      (
        await search(
          '/properties/search-buy',
          { location: 'city:Austin, TX' },
          { ...headers, 'x-rapidapi-key': 'nope' },
        )
      ).status,
    ).toBe(403);
    fake.http.fail({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const res = await fetch(`${fake.url}/properties/search-buy?location=city:Austin,%20TX`, { headers });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    await res.body?.cancel();
    fake.http.fail({ kind: 'hang' });
    await expect(
      fetch(`${fake.url}/properties/search-buy?location=city:Austin,%20TX`, {
        headers,
        signal: AbortSignal.timeout(100),
      }),
    ).rejects.toThrow();
  });
});

describe('OSM fake (Nominatim + Overpass), driven by fetch', () => {
  let fake: OsmFake;
  beforeAll(async () => {
    fake = await OsmFake.start();
  });
  afterAll(() => fake.close());

  it('geocodes and records the User-Agent', async () => {
    const res = await fetch(
      `${fake.url}/search?${new URLSearchParams({ q: 'Austin, TX', format: 'json' })}`,
      {
        headers: { 'user-agent': 'real-estate-ai-test/1.0' },
      },
    );
    const body = (await res.json()) as { lat: string; display_name: string }[];
    expect(body[0]?.display_name).toContain('Austin');
    expect(fake.geocodes[0]?.headers['user-agent']).toBe('real-estate-ai-test/1.0');
  });

  it('answers Overpass queries and rejects what is not in the supported subset', async () => {
    const ql =
      '[out:json][timeout:5];\n(\n  nwr["amenity"="school"](around:1000,30.3105,-97.7265);\n);\nout center tags 50;';
    const res = await fetch(`${fake.url}/api/interpreter`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ data: ql }).toString(),
    });
    const body = (await res.json()) as { elements: { tags: { name: string } }[] };
    expect(body.elements.map((e) => e.tags.name).sort()).toEqual([
      'Kealing Middle School',
      'Lee Elementary School',
    ]);
    const bad = await fetch(`${fake.url}/api/interpreter`, { method: 'POST', body: `${ql}\nout;` });
    expect(bad.status).toBe(400);
    await bad.text();
    expect(
      parseOverpassQuery('[out:json][timeout:1];(nwr["name"~"a\\"b",i](around:5,1,2););out center tags 1;'),
    ).toMatchObject({
      statements: [{ filters: [{ key: 'name', op: '~', value: 'a"b', caseInsensitive: true }] }],
    });
  });
});

describe('LangSmith fake, driven by the langsmith Client', () => {
  let fake: LangSmithFake;
  beforeAll(async () => {
    fake = await LangSmithFake.start();
  });
  afterAll(() => fake.close());

  it('receives a run tree through GET /info then POST /runs/batch', async () => {
    const client = new Client({ apiUrl: fake.url, apiKey: TEST_SECRETS.langsmithKey });
    const root = new RunTree({
      name: 'agent',
      run_type: 'chain',
      inputs: { q: 'hi' },
      client,
      project_name: 'test',
    });
    await root.postRun();
    const child = root.createChild({ name: 'llm', run_type: 'llm', inputs: { prompt: 'hi' } });
    await child.postRun();
    await child.end({ text: 'hello' });
    await child.patchRun();
    await root.end({ answer: 'hello' });
    await root.patchRun();
    await client.awaitPendingTraceBatches();
    await fake.waitFor((runs) => runs.length === 2 && runs.every((r) => r.end_time !== undefined));
    expect(fake.http.requestsTo('/info')).toHaveLength(1);
    expect(fake.ingestions.every((i) => i.endpoint === 'batch')).toBe(true);
    expect(fake.rootRuns().map((r) => r.id)).toEqual([root.id]);
    expect(fake.run(child.id)).toMatchObject({
      parent_run_id: root.id,
      trace_id: root.id,
      outputs: { text: 'hello' },
    });
    expect(fake.run(root.id)).toMatchObject({ name: 'agent', outputs: { answer: 'hello' } });
    expect(fake.http.requests.at(-1)?.headers['x-api-key']).toBe(TEST_SECRETS.langsmithKey);
  });
});
