import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/core/abort.js';
import { createToolBackends } from '../../src/tools/backends.js';
import type { RealtyClient } from '../../src/tools/realty-client.js';
import { RealtyFake } from '../fakes/realty-server.js';
import { TEST_SECRETS } from '../helpers/secrets.js';
import { activeHandles, scanKeys, type ToolStack, toolStack } from '../helpers/upstreams.js';

const HOST = 'realty-us.p.rapidapi.com';
const austin3Bed = { city: 'Austin', state: 'TX', minBeds: 3, maxPrice: 500_000 } as const;

describe('RealtyClient against the Realty US fake, with a real Redis', () => {
  let fake: RealtyFake;
  let stack: ToolStack;
  let client: RealtyClient;

  const build = async (
    env: Record<string, string> = {},
    apiKey: string | null = TEST_SECRETS.rapidApiKey,
  ) => {
    stack = await toolStack(
      {
        ...(apiKey ? { RAPIDAPI_KEY: apiKey } : {}),
        REALTY_API_BASE_URL: fake.url,
        REALTY_API_HOST: HOST,
        ...env,
      },
      'realty',
    );
    client = createToolBackends(stack.config, stack).realty;
  };

  beforeEach(async () => {
    fake = await RealtyFake.start({ apiKey: TEST_SECRETS.rapidApiKey, host: HOST });
  });
  afterEach(async () => {
    await stack?.close();
    await fake.close();
  });

  it('finds 3-bed homes in Austin under 500k with one request, then serves them from the cache', async () => {
    await build();
    const first = await client.searchForSale(austin3Bed);
    expect(first.cached).toBe(false);
    expect(first.location).toBe('city:Austin, TX');
    expect(first.listings.map((l) => l.address)).toContain('4512 Avenue F, Austin, TX 78751');
    const home = first.listings.find((l) => l.id === '9100000001');
    expect(home).toEqual({
      id: '9100000001',
      address: '4512 Avenue F, Austin, TX 78751',
      city: 'Austin',
      state: 'TX',
      postalCode: '78751',
      price: 449_000,
      beds: 3,
      baths: 2,
      sqft: 1620,
      type: 'single_family',
      status: 'for_sale',
      listDate: '2025-05-02T10:00:00Z',
      link: 'https://www.realtor.com/realestateandhomes-detail/4512-Avenue-F_Austin_TX_78751_M9100000001',
      photo: 'https://ap.rdcpix.com/fake/9100000001-m0s.jpg',
      lat: 30.3105,
      lon: -97.7265,
    });
    expect(first.listings.every((l) => (l.price ?? 0) <= 500_000 && (l.beds ?? 0) >= 3)).toBe(true);
    expect(fake.searches).toHaveLength(1);
    const req = fake.searches[0];
    expect(req?.path).toBe('/properties/search-buy');
    expect(Object.fromEntries(req?.query ?? [])).toEqual({
      location: 'city:Austin, TX',
      resultsPerPage: '10',
      page: '1',
      prices: ',500000',
      bedrooms: '3',
    });
    expect(req?.headers['x-rapidapi-key']).toBe(TEST_SECRETS.rapidApiKey);
    expect(req?.headers['x-rapidapi-host']).toBe(HOST);

    const again = await client.searchForSale({ ...austin3Bed, city: 'austin', state: 'Texas' });
    expect(again.cached).toBe(true);
    expect(again.listings).toEqual(first.listings);
    expect(fake.searches).toHaveLength(1);
    const keys = await scanKeys(stack.connection.client, `${stack.connection.keyPrefix}cache:realty_us:*`);
    expect(keys).toHaveLength(1);
    expect(await stack.connection.client.pttl(keys[0] as string)).toBeGreaterThan(3_500_000);
  });

  it('searches rentals', async () => {
    await build();
    const r = await client.searchForRent({
      city: 'Austin',
      state: 'TX',
      maxPrice: 2200,
      propertyTypes: ['apartment'],
    });
    expect(r.kind).toBe('rent');
    expect(r.listings.map((l) => l.price).sort()).toEqual([1450, 2100]);
    expect(fake.searches[0]?.path).toBe('/properties/search-rent');
    expect(fake.searches[0]?.query.get('prices')).toBe(',2200');
  });

  it('makes one request for 50 concurrent identical searches', async () => {
    await build();
    fake.http.fail({ kind: 'slow', delayMs: 100 });
    const results = await Promise.all(Array.from({ length: 50 }, () => client.searchForSale(austin3Bed)));
    expect(fake.searches).toHaveLength(1);
    expect(new Set(results.map((r) => JSON.stringify(r.listings))).size).toBe(1);
  });

  it('retries a 429, honouring Retry-After', async () => {
    await build();
    fake.http.fail({
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '1' },
      body: { message: 'Too many requests' },
    });
    const started = Date.now();
    const r = await client.searchForSale(austin3Bed);
    expect(r.listings.length).toBeGreaterThan(0);
    expect(fake.searches).toHaveLength(2);
    const gap = (fake.searches[1]?.at ?? 0) - (fake.searches[0]?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(stack.errors).toEqual([]);
  });

  it('gives up on a Retry-After beyond the time budget, with a quota error carrying it', async () => {
    await build();
    fake.http.fail({ kind: 'status', status: 429, headers: { 'retry-after': '5' } });
    const started = Date.now();
    await expect(client.searchForSale(austin3Bed, { deadline: Date.now() + 1000 })).rejects.toMatchObject({
      code: 'upstream_quota',
      status: 503,
      retryAfterMs: 5000,
    });
    expect(Date.now() - started).toBeLessThan(500);
    expect(stack.errors).toEqual([{ type: 'api', code: 'upstream_quota' }]);
  });

  it('types a bad key as upstream_auth, logs it once, counts every failure, caches nothing', async () => {
    await build({}, 'rapid-wrong-key-000000');
    for (let i = 0; i < 3; i++)
      await expect(client.searchForSale({ ...austin3Bed, page: i + 1 })).rejects.toMatchObject({
        code: 'upstream_auth',
        status: 502,
        kind: 'auth',
        httpStatus: 403,
      });
    expect(fake.searches).toHaveLength(3); // never retried
    expect(stack.errors).toEqual(Array(3).fill({ type: 'api', code: 'upstream_auth' }));
    const lines = stack.logs.lines();
    const loud = lines.filter((l) => String(l.msg).includes('rejected the API key'));
    expect(loud).toHaveLength(1);
    expect(loud[0]).toMatchObject({ level: 'error', upstream: 'realty_us', http_status: 403 });
    expect(String(loud[0]?.msg)).toContain('RAPIDAPI_KEY');
    expect(JSON.stringify(lines)).not.toContain('rapid-wrong-key-000000');
    expect(stack.upstreams.realty.health()).toMatchObject({ status: 'failing', last_error: 'auth' });
    expect(await scanKeys(stack.connection.client, `${stack.connection.keyPrefix}cache:*`)).toEqual([]);
  });

  it('does not cache server errors: the next call asks again', async () => {
    await build({ UPSTREAM_MAX_RETRIES: '1' });
    fake.http.fail({ kind: 'status', status: 500 }, 2);
    await expect(client.searchForSale(austin3Bed)).rejects.toMatchObject({
      code: 'upstream_error',
      httpStatus: 500,
    });
    expect(fake.searches).toHaveLength(2);
    const ok = await client.searchForSale(austin3Bed);
    expect(ok.cached).toBe(false);
    expect(fake.searches).toHaveLength(3);
  });

  it('cuts off a hanging upstream at the timeout, leaving no timer or socket behind', async () => {
    await build({ UPSTREAM_TIMEOUT_MS: '300' });
    await client.searchForRent({ city: 'Austin', state: 'TX' }); // warm up the connection pool
    await sleep(50);
    const before = activeHandles();
    fake.http.fail({ kind: 'hang' });
    const started = Date.now();
    await expect(client.searchForSale(austin3Bed)).rejects.toMatchObject({
      code: 'upstream_timeout',
      status: 504,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1500);
    await expect.poll(() => fake.http.inFlight).toBe(0);
    await sleep(20);
    const after = activeHandles();
    expect(after.timers).toBeLessThanOrEqual(before.timers);
    expect(after.sockets).toBeLessThanOrEqual(before.sockets);
  });

  it("stops at once when the caller's signal aborts", async () => {
    await build({ UPSTREAM_TIMEOUT_MS: '5000' });
    fake.http.fail({ kind: 'hang' });
    const reason = new Error('agent budget spent');
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 100);
    const started = Date.now();
    await expect(client.searchForSale(austin3Bed, { signal: controller.signal })).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(1000);
    await expect.poll(() => fake.http.inFlight).toBe(0);
    expect(stack.errors).toEqual([]); // the caller gave up: not an upstream failure
  });

  it('after every caller left, the next identical search makes a fresh request', async () => {
    await build();
    fake.http.fail({ kind: 'hang' });
    const controller = new AbortController();
    const first = client.searchForSale(austin3Bed, { signal: controller.signal });
    await expect.poll(() => fake.searches.length).toBe(1);
    controller.abort(new Error('first caller left'));
    await expect(first).rejects.toThrow('first caller left');
    // The abandoned request is still being torn down when the next caller comes.
    const second = client.searchForSale(austin3Bed);
    expect((await second).listings.length).toBeGreaterThan(0);
    expect(fake.searches).toHaveLength(2);
  });

  it('sheds load with OverloadedError when the queue is full', async () => {
    await build({ REALTY_MAX_CONCURRENT: '1', REALTY_QUEUE_LIMIT: '1', REALTY_RESERVOIR: '0' });
    fake.http.fail({ kind: 'slow', delayMs: 200 }, 2);
    const calls = [1, 2, 3].map((page) => client.searchForSale({ ...austin3Bed, page }));
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({
      code: 'overloaded',
      status: 503,
      retryAfterMs: 1000,
    });
    expect(stack.errors).toEqual([{ type: 'overload', code: 'overloaded' }]);
  });

  it('answers "not configured" without a key, and never calls out', async () => {
    await build({}, null);
    expect(client.configured).toBe(false);
    expect(client.health()).toEqual({ status: 'not_configured' });
    await expect(client.searchForSale(austin3Bed)).rejects.toMatchObject({
      code: 'upstream_not_configured',
      status: 503,
      message: expect.stringContaining('RAPIDAPI_KEY'),
    });
    expect(fake.searches).toHaveLength(0);
  });

  it('rejects bad parameters with a ToolInputError naming the field', async () => {
    await build();
    await expect(
      client.searchForSale({ city: 'Austin', state: 'TX', resultsPerPage: 500 }),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      field: 'resultsPerPage',
    });
    await expect(client.searchForSale({ city: 'Austin', state: 'Narnia' })).rejects.toMatchObject({
      field: 'state',
    });
    await expect(
      client.searchForSale({ city: 'Austin', state: 'TX', minPrice: 9, maxPrice: 1 }),
    ).rejects.toMatchObject({ field: 'minPrice' });
    await expect(client.searchForSale({ city: 'Austin", x', state: 'TX' })).rejects.toMatchObject({
      field: 'city',
    });
    expect(fake.searches).toHaveLength(0);
  });
});
