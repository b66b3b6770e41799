import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createToolBackends } from '../../src/tools/backends.js';
import type { MarketSearchClient } from '../../src/tools/market-search-client.js';
import { MarketSearchFake } from '../fakes/market-search-server.js';
import { TEST_SECRETS } from '../helpers/secrets.js';
import { scanKeys, type ToolStack, toolStack } from '../helpers/upstreams.js';

const austin = { query: 'Austin TX housing market trend' } as const;

describe('MarketSearchClient against the Tavily fake, with a real Redis', () => {
  let fake: MarketSearchFake;
  let stack: ToolStack;
  let client: MarketSearchClient;

  const build = async (
    env: Record<string, string> = {},
    apiKey: string | null = TEST_SECRETS.marketSearchKey,
  ) => {
    stack = await toolStack(
      { ...(apiKey ? { MARKET_SEARCH_API_KEY: apiKey } : {}), MARKET_SEARCH_BASE_URL: fake.url, ...env },
      'market',
    );
    client = createToolBackends(stack.config, stack).market;
  };

  beforeEach(async () => {
    fake = await MarketSearchFake.start({ apiKey: TEST_SECRETS.marketSearchKey });
  });
  afterEach(async () => {
    await stack?.close();
    await fake.close();
  });

  it('searches once with a bearer key, simplifies the results, then serves them from the cache', async () => {
    await build();
    const first = await client.search({ ...austin, maxResults: 4, timeRange: 'month' });
    expect(first.cached).toBe(false);
    expect(first.results).toEqual([
      {
        title: 'Austin housing market report: prices down 3.1% year over year',
        url: 'https://market.example.com/austin/report',
        content: expect.stringContaining('$452,000'),
        score: 0.9,
        publishedDate: 'Mon, 03 Nov 2025 10:00:00 GMT',
      },
      {
        title: 'Austin rents flat as new apartments open',
        url: 'https://news.example.org/austin-rents',
        content: expect.stringContaining('$1,650'),
        score: 0.8,
        publishedDate: null,
      },
    ]); // the javascript: link is dropped
    expect(fake.searches).toHaveLength(1);
    expect(fake.searches[0]?.headers.authorization).toBe(`Bearer ${TEST_SECRETS.marketSearchKey}`);
    expect(fake.searchBodies()[0]).toEqual({
      query: 'Austin TX housing market trend',
      topic: 'general',
      search_depth: 'basic',
      max_results: 4,
      time_range: 'month',
      include_answer: false,
      include_raw_content: false,
      include_images: false,
    });

    const again = await client.search({
      query: '  austin tx   HOUSING market trend ',
      maxResults: 4,
      timeRange: 'month',
    });
    expect(again).toMatchObject({ cached: true, results: first.results });
    expect(fake.searches).toHaveLength(1);
    const keys = await scanKeys(
      stack.connection.client,
      `${stack.connection.keyPrefix}cache:market_search:*`,
    );
    expect(keys).toHaveLength(1);
    expect(await stack.connection.client.pttl(keys[0] as string)).toBeGreaterThan(21_000_000);
    // Other options are another search.
    await client.search({ ...austin, news: true });
    expect(fake.searchBodies()[1]).toMatchObject({ topic: 'news', max_results: 5 });
  });

  it('never caches a failure: a 500 is retried, and the next search asks again', async () => {
    await build({ UPSTREAM_MAX_RETRIES: '1' });
    fake.http.failAlways({ kind: 'status', status: 500 });
    await expect(client.search(austin)).rejects.toMatchObject({ code: 'upstream_error' });
    expect(fake.searches).toHaveLength(2);
    fake.http.clearFaults();
    const ok = await client.search(austin);
    expect(ok.cached).toBe(false);
    expect(fake.searches).toHaveLength(3);
    expect(stack.errors).toEqual([{ type: 'api', code: 'upstream_error' }]);
  });

  it('a rejected key fails as auth, is logged once as such, and never shows the key', async () => {
    await build({}, 'tvly-wrong-key-000000');
    for (const query of ['austin one', 'austin two', 'austin three'])
      await expect(client.search({ query })).rejects.toMatchObject({ code: 'upstream_auth' });
    expect(fake.searches).toHaveLength(3); // never retried
    const lines = stack.logs.lines().filter((l) => String(l.msg).includes('rejected the API key'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toContain('check MARKET_SEARCH_API_KEY');
    expect(JSON.stringify(stack.logs.lines())).not.toContain('tvly-wrong-key');
    expect(client.health()).toMatchObject({ status: 'failing', last_error: 'auth' });
  });

  it("treats Tavily's credit limit (432) as a quota failure, without retrying", async () => {
    await build();
    fake.http.fail({ kind: 'status', status: 432, body: { detail: { error: 'plan limit exceeded' } } });
    await expect(client.search(austin)).rejects.toMatchObject({
      code: 'upstream_quota',
      message: 'market_search plan or credit limit reached (HTTP 432)',
    });
    expect(fake.searches).toHaveLength(1);
  });

  it('is off without a key, and refuses bad input before any request', async () => {
    await build({}, null);
    expect(client.configured).toBe(false);
    expect(client.health()).toEqual({ status: 'off', detail: 'no MARKET_SEARCH_API_KEY' });
    await expect(client.search(austin)).rejects.toMatchObject({ code: 'upstream_not_configured' });
    await stack.close();
    await build();
    await expect(client.search({ query: 'x' })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(client.search({ ...austin, maxResults: 50 })).rejects.toThrow(/maxResults/);
    expect(fake.searches).toHaveLength(0);
  });
});
