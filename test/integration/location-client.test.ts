import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createToolBackends } from '../../src/tools/backends.js';
import type { LocationClient } from '../../src/tools/location-client.js';
import { OsmFake } from '../fakes/osm-server.js';
import { scanKeys, type ToolStack, toolStack } from '../helpers/upstreams.js';

const UA = 'real-estate-ai-test/1.0 (ops@example.test)';

describe('LocationClient against the Nominatim/Overpass fake, with a real Redis', () => {
  let fake: OsmFake;
  let stack: ToolStack;
  let client: LocationClient;

  const build = async (env: Record<string, string> = {}) => {
    stack = await toolStack(
      { NOMINATIM_BASE_URL: fake.url, OVERPASS_BASE_URL: `${fake.url}/`, OSM_USER_AGENT: UA, ...env },
      'location',
    );
    client = createToolBackends(stack.config, stack).location;
  };

  beforeEach(async () => {
    fake = await OsmFake.start();
  });
  afterEach(async () => {
    await stack?.close();
    await fake.close();
  });

  it('geocodes with a real User-Agent and an encoded query, then from the cache', async () => {
    await build();
    const r = await client.geocode({ query: '  Austin,   TX ' });
    expect(r.results[0]).toEqual({
      displayName: 'Austin, Travis County, Texas, United States',
      lat: 30.2711286,
      lon: -97.7436995,
      kind: 'boundary/administrative',
    });
    expect(r.cached).toBe(false);
    const req = fake.geocodes[0];
    expect(req?.headers['user-agent']).toBe(UA);
    expect(req?.query.get('q')).toBe('Austin, TX');
    expect(req?.query.get('format')).toBe('json');
    expect((await client.geocode({ query: 'austin, tx' })).cached).toBe(true);
    expect(fake.geocodes).toHaveLength(1);
    const keys = await scanKeys(stack.connection.client, `${stack.connection.keyPrefix}cache:nominatim:*`);
    expect(keys).toHaveLength(1);
  });

  it('sends hostile text as one literal query parameter', async () => {
    await build();
    const q = 'x&format=xml&q=evil#frag ?/%20';
    const r = await client.geocode({ query: q });
    expect(r.results).toEqual([]);
    const req = fake.geocodes[0];
    expect(req?.query.getAll('q')).toEqual([q]);
    expect(req?.query.getAll('format')).toEqual(['json']);
  });

  it('honours Nominatim’s one request per second', async () => {
    await build();
    const places = ['Austin, TX', 'Zilker Park', '4512 Avenue F, Austin, TX'];
    await Promise.all(places.map((query) => client.geocode({ query })));
    const times = fake.geocodes.map((r) => r.at);
    expect(times).toHaveLength(3);
    for (let i = 1; i < times.length; i++)
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(1000);
  });

  it('finds amenities around a place, nearest first, cached afterwards', async () => {
    await build();
    const r = await client.nearbyAmenities({
      place: '4512 Avenue F, Austin, TX',
      radiusMeters: 1000,
      categories: ['school', 'park', 'cafe'],
    });
    expect(r.center).toMatchObject({ lat: 30.3105, lon: -97.7265 });
    expect(r.categories.school?.count).toBe(2);
    expect(r.categories.school?.nearest[0]?.name).toBe('Lee Elementary School');
    expect(r.categories.school?.nearest[0]?.distanceMeters).toBeLessThan(300);
    expect(r.categories.park?.nearest.map((a) => a.name)).toEqual(['unnamed park', 'Shipe Park']);
    expect(r.categories.cafe?.nearest[0]?.name).toBe('Joe\'s "Best" Café');
    expect(fake.overpass).toHaveLength(1);
    expect(fake.overpass[0]?.headers['user-agent']).toBe(UA);
    expect(fake.overpassQueries[0]?.statements).toHaveLength(4);
    const again = await client.nearbyAmenities({
      place: '4512 Avenue F, Austin, TX',
      radiusMeters: 1000,
      categories: ['cafe', 'park', 'school'],
    });
    expect(again.cached).toBe(true);
    expect(fake.overpass).toHaveLength(1);
    expect(fake.geocodes).toHaveLength(1);
  });

  it('filters by a name with quotes and regex characters, literally', async () => {
    await build();
    const r = await client.nearbyAmenities({
      lat: 30.3105,
      lon: -97.7265,
      categories: ['cafe', 'restaurant'],
      nameContains: '"Best" Caf',
    });
    expect(r.categories.cafe?.nearest.map((a) => a.name)).toEqual(['Joe\'s "Best" Café']);
    expect(r.categories.restaurant?.count).toBe(0);
    const broken = await client.nearbyAmenities({
      lat: 30.27,
      lon: -97.76,
      categories: ['cafe'],
      nameContains: 'Cafe (',
    });
    expect(broken.categories.cafe?.nearest.map((a) => a.name)).toEqual(['Cafe (Lamar)']);
  });

  it('retries an Overpass 504, and reports an unknown place to the caller', async () => {
    await build();
    fake.http.fail({ kind: 'status', status: 504, body: 'Gateway Timeout' });
    const r = await client.nearbyAmenities({ lat: 30.3105, lon: -97.7265, categories: ['school'] });
    expect(r.categories.school?.count).toBe(2);
    expect(fake.overpass).toHaveLength(2);
    await expect(client.nearbyAmenities({ place: 'Nowhere at all' })).rejects.toMatchObject({
      code: 'validation_failed',
      field: 'place',
    });
    await expect(client.nearbyAmenities({ lat: 1 })).rejects.toMatchObject({ field: 'place' });
    await expect(client.nearbyAmenities({ lat: 1, lon: 2, radiusMeters: 50_000 })).rejects.toMatchObject({
      field: 'radiusMeters',
    });
  });
});
