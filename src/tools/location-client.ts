import { z } from 'zod';
import { type Cache, cacheKey } from '../cache/cache.js';
import type { Upstream } from '../upstream/upstream.js';
import { UpstreamError } from '../upstream/upstream-error.js';
import type { LookupOptions } from './lookup-options.js';
import {
  AMENITY_CATEGORY_NAMES,
  type AmenityCategory,
  buildAmenityQuery,
  categoryOf,
  distanceMeters,
} from './overpass-query.js';
import { parseInput } from './parse-input.js';
import { ToolInputError } from './tool-input-error.js';

export { AMENITY_CATEGORY_NAMES, type AmenityCategory } from './overpass-query.js';

/** Input of {@link LocationClient.geocode} (also the geocoding tool's schema). */
export const geocodeSchema = z.object({
  query: z.string().trim().min(2).max(200).describe('An address, neighbourhood, city or landmark'),
  limit: z.number().int().min(1).max(10).optional().describe('Most results (default 5)'),
});

const DEFAULT_CATEGORIES: AmenityCategory[] = [
  'school',
  'supermarket',
  'park',
  'hospital',
  'transit',
  'restaurant',
];

/** Input of {@link LocationClient.nearbyAmenities}: a place name, or coordinates. */
export const nearbySchema = z
  .object({
    place: z.string().trim().min(2).max(200).optional().describe('Address or place to look around'),
    lat: z.number().min(-90).max(90).optional(),
    lon: z.number().min(-180).max(180).optional(),
    radiusMeters: z
      .number()
      .int()
      .min(100)
      .max(5000)
      .optional()
      .describe('Search radius, 100-5000 m (default 1500)'),
    categories: z
      .array(z.enum(AMENITY_CATEGORY_NAMES))
      .min(1)
      .max(13)
      .optional()
      .describe('What to look for'),
    nameContains: z
      .string()
      .trim()
      .min(1)
      .max(60)
      .optional()
      .describe('Only places whose name contains this'),
  })
  .refine((p) => (p.place !== undefined) !== (p.lat !== undefined && p.lon !== undefined), {
    message: 'give either a place or both lat and lon',
    path: ['place'],
  });

/** One geocoding match. */
export interface GeocodeResult {
  readonly displayName: string;
  readonly lat: number;
  readonly lon: number;
  /** OSM class and type: `boundary/administrative`, `building/house`. */
  readonly kind: string;
}

/** One amenity found. */
export interface Amenity {
  readonly name: string;
  readonly distanceMeters: number;
  readonly lat: number;
  readonly lon: number;
}

/** Amenities around a point, by category: how many, and the nearest few. */
export interface NearbyResult {
  readonly center: { readonly lat: number; readonly lon: number; readonly name: string | null };
  readonly radiusMeters: number;
  readonly categories: Partial<
    Record<AmenityCategory, { readonly count: number; readonly nearest: Amenity[] }>
  >;
  readonly cached: boolean;
}

/** Options of {@link LocationClient}. */
export interface LocationClientOptions {
  readonly nominatim: Upstream;
  readonly overpass: Upstream;
  readonly cache: Cache;
  /** `NOMINATIM_BASE_URL`. */
  readonly nominatimBaseUrl: string;
  /** `OVERPASS_BASE_URL`. */
  readonly overpassBaseUrl: string;
  /** `OSM_USER_AGENT`: OSM's usage policies require a real one. */
  readonly userAgent: string;
  /** `OSM_CACHE_TTL_SECONDS`. */
  readonly cacheTtlSeconds: number;
  /** Overpass's server-side timeout (keep it under the upstream timeout), default 25. */
  readonly overpassTimeoutSeconds?: number;
}

const NEAREST_PER_CATEGORY = 5;
const MAX_ELEMENTS = 300;

/**
 * Geocoding (Nominatim) and nearby amenities (Overpass) on OpenStreetMap, cached under `nominatim:`
 * and `overpass:`, throttled by their upstreams (Nominatim: one request per second across
 * instances by default), with a real User-Agent and all input encoded or escaped.
 */
export class LocationClient {
  private readonly o: LocationClientOptions;

  constructor(options: LocationClientOptions) {
    if (!(options.cacheTtlSeconds > 0)) throw new RangeError('cacheTtlSeconds must be > 0');
    if (options.userAgent.trim().length < 3) throw new RangeError('userAgent must identify the service');
    new URL(options.nominatimBaseUrl);
    new URL(options.overpassBaseUrl);
    this.o = options;
  }

  /** Places matching a free-text query, best first. */
  async geocode(
    params: z.input<typeof geocodeSchema>,
    options: LookupOptions = {},
  ): Promise<{ query: string; results: GeocodeResult[]; cached: boolean }> {
    const p = parseInput(geocodeSchema, params);
    const query = p.query.replace(/\s+/g, ' ');
    const limit = p.limit ?? 5;
    const url = new URL('search', withSlash(this.o.nominatimBaseUrl));
    url.searchParams.set('q', query);
    url.searchParams.set('format', 'json');
    url.searchParams.set('limit', String(limit));
    const name = cacheKey('nominatim', { q: query.toLowerCase(), limit });
    const { value, cached } = await this.shared(name, options, async (signal) => {
      const body = await this.o.nominatim.fetchJson(
        url,
        { headers: this.headers() },
        { signal, deadline: options.deadline },
      );
      if (!Array.isArray(body)) throw unexpected('nominatim');
      return body.map(toGeocode).filter((g): g is GeocodeResult => g !== null);
    });
    return { query, results: value, cached };
  }

  /** Amenities around a place or a point, grouped by category with the nearest first. */
  async nearbyAmenities(
    params: z.input<typeof nearbySchema>,
    options: LookupOptions = {},
  ): Promise<NearbyResult> {
    const p = parseInput(nearbySchema, params);
    let center: NearbyResult['center'];
    if (p.place !== undefined) {
      const found = await this.geocode({ query: p.place, limit: 1 }, options);
      const first = found.results[0];
      if (!first) throw new ToolInputError('place', `no place found for "${found.query.slice(0, 80)}"`);
      center = { lat: first.lat, lon: first.lon, name: first.displayName };
    } else {
      center = { lat: p.lat as number, lon: p.lon as number, name: null };
    }
    const lat = Number(center.lat.toFixed(5));
    const lon = Number(center.lon.toFixed(5));
    const radiusMeters = p.radiusMeters ?? 1500;
    const categories = [...new Set(p.categories ?? DEFAULT_CATEGORIES)].sort();
    const ql = buildAmenityQuery({
      lat,
      lon,
      radiusMeters,
      categories,
      nameContains: p.nameContains,
      timeoutSeconds: this.o.overpassTimeoutSeconds ?? 25,
      maxResults: MAX_ELEMENTS,
    });
    const name = cacheKey('overpass', { ql });
    const { value, cached } = await this.shared(name, options, async (signal) => {
      const body = await this.o.overpass.fetchJson(
        new URL('api/interpreter', withSlash(this.o.overpassBaseUrl)),
        {
          method: 'POST',
          headers: { ...this.headers(), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ data: ql }).toString(),
        },
        { signal, deadline: options.deadline },
      );
      const elements = (body as { elements?: unknown } | null)?.elements;
      if (!Array.isArray(elements)) throw unexpected('overpass');
      return group(elements, categories, lat, lon);
    });
    return { center, radiusMeters, categories: value, cached };
  }

  private headers(): Record<string, string> {
    return { 'user-agent': this.o.userAgent, accept: 'application/json', 'accept-language': 'en' };
  }

  private shared<T>(
    name: string,
    options: LookupOptions,
    load: (signal: AbortSignal) => Promise<T>,
  ): Promise<{ value: T; cached: boolean }> {
    return this.o.cache.wrap(name, load, { ttlSeconds: this.o.cacheTtlSeconds, signal: options.signal });
  }
}

function withSlash(base: string): string {
  return base.endsWith('/') ? base : `${base}/`;
}

function unexpected(upstream: string): UpstreamError {
  return new UpstreamError({
    upstream,
    type: 'api',
    kind: 'server',
    message: `${upstream} answered in an unexpected shape`,
  });
}

function toGeocode(raw: unknown): GeocodeResult | null {
  const r = (raw ?? {}) as Record<string, unknown>;
  const lat = Number(r.lat);
  const lon = Number(r.lon);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || typeof r.display_name !== 'string') return null;
  return {
    displayName: r.display_name.slice(0, 300),
    lat,
    lon,
    kind: `${String(r.class ?? '')}/${String(r.type ?? '')}`,
  };
}

function group(
  elements: unknown[],
  categories: AmenityCategory[],
  lat: number,
  lon: number,
): NearbyResult['categories'] {
  const found = new Map<AmenityCategory, Amenity[]>(categories.map((c) => [c, []]));
  for (const raw of elements) {
    const e = (raw ?? {}) as {
      lat?: unknown;
      lon?: unknown;
      center?: { lat?: unknown; lon?: unknown };
      tags?: unknown;
    };
    const tags = (e.tags ?? {}) as Record<string, unknown>;
    const category = categoryOf(tags, categories);
    const eLat = Number(e.lat ?? e.center?.lat);
    const eLon = Number(e.lon ?? e.center?.lon);
    if (!category || !Number.isFinite(eLat) || !Number.isFinite(eLon)) continue;
    const name =
      typeof tags.name === 'string' && tags.name.trim()
        ? tags.name.trim().slice(0, 120)
        : `unnamed ${category}`;
    found.get(category)?.push({
      name,
      lat: eLat,
      lon: eLon,
      distanceMeters: Math.round(distanceMeters(lat, lon, eLat, eLon)),
    });
  }
  const out: NearbyResult['categories'] = {};
  for (const [category, list] of found) {
    list.sort((a, b) => a.distanceMeters - b.distanceMeters);
    out[category] = { count: list.length, nearest: list.slice(0, NEAREST_PER_CATEGORY) };
  }
  return out;
}
