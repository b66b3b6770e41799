import { z } from 'zod';
import { type Cache, cacheKey } from '../cache/cache.js';
import type { Upstream, UpstreamHealth } from '../upstream/upstream.js';
import { UpstreamError } from '../upstream/upstream-error.js';
import { normalizeState } from './finance/property-tax.js';
import type { LookupOptions } from './lookup-options.js';
import { parseInput } from './parse-input.js';
import { type Listing, simplifyListing } from './realty-listing.js';
import { ToolInputError } from './tool-input-error.js';

export type { Listing } from './realty-listing.js';

/** Property types the Realty US API filters on. */
export const PROPERTY_TYPES = [
  'single_family_home',
  'condo',
  'townhome',
  'multi_family',
  'mobile',
  'land',
  'farm',
  'apartment',
] as const;

/** Sort orders of the Realty US API. */
export const SORT_OPTIONS = ['relevance', 'newest', 'lowest_price', 'highest_price'] as const;

const CITY = /^[\p{L}\p{M}0-9 .'-]{1,80}$/u;

/** The listing search parameters (also the schema of the agent's search tools). */
export const realtySearchSchema = z
  .object({
    city: z
      .string()
      .trim()
      .regex(CITY, "must be a city name (letters, spaces, . ' -)")
      .describe('City name, e.g. "Austin"'),
    state: z.string().trim().min(2).max(40).describe('US state: two-letter code or name, e.g. "TX"'),
    minPrice: z
      .number()
      .nonnegative()
      .finite()
      .optional()
      .describe('Lowest price (rent: per month), dollars'),
    maxPrice: z.number().positive().finite().optional().describe('Highest price (rent: per month), dollars'),
    minBeds: z.number().int().min(0).max(20).optional().describe('Minimum bedrooms'),
    minBaths: z.number().min(0).max(20).optional().describe('Minimum bathrooms'),
    propertyTypes: z.array(z.enum(PROPERTY_TYPES)).min(1).max(8).optional().describe('Property types'),
    sortBy: z.enum(SORT_OPTIONS).optional().describe('Sort order'),
    page: z.number().int().min(1).max(100).optional().describe('Page, from 1'),
    resultsPerPage: z
      .number()
      .int()
      .min(8)
      .max(200)
      .optional()
      .describe('Results per page, 8 to 200 (default 10)'),
    pets: z
      .array(z.enum(['cats', 'dogs']))
      .min(1)
      .max(2)
      .optional()
      .describe('Rentals only: pets that must be allowed'),
  })
  .refine((p) => p.minPrice === undefined || p.maxPrice === undefined || p.minPrice <= p.maxPrice, {
    message: 'minPrice must not exceed maxPrice',
    path: ['minPrice'],
  });

/** Input of {@link RealtyClient.searchForSale} / {@link RealtyClient.searchForRent}. */
export type RealtySearchParams = z.input<typeof realtySearchSchema>;

/** Options of {@link RealtyClient}. */
export interface RealtyClientOptions {
  /** The `realty_us` upstream (limiter, retries, typed errors). */
  readonly upstream: Upstream;
  readonly cache: Cache;
  /** `REALTY_API_BASE_URL`, e.g. `https://realty-us.p.rapidapi.com`. */
  readonly baseUrl: string;
  /** `REALTY_API_HOST`, sent as `x-rapidapi-host`. */
  readonly host: string;
  /** `RAPIDAPI_KEY`; without it every search fails with `upstream_not_configured`. */
  readonly apiKey?: string;
  /** `REALTY_CACHE_TTL_SECONDS`. */
  readonly cacheTtlSeconds: number;
}

/** A page of simplified listings. */
export interface ListingSearchResult {
  readonly kind: 'sale' | 'rent';
  /** The location searched, `city:Austin, TX`. */
  readonly location: string;
  readonly page: number;
  readonly resultsPerPage: number;
  /** Matching listings in all pages, when the API says. */
  readonly total: number | null;
  readonly listings: readonly Listing[];
  /** True when served from the cache (no upstream request). */
  readonly cached: boolean;
}

/**
 * Realty US (RapidAPI) listing search, for sale and for rent. Results are simplified for the model,
 * cached under `realty_us:` for the configured TTL (errors never cached), and concurrent identical
 * searches make one request (`Cache.wrap`); requests go through the `realty_us` upstream's
 * limiter and retries.
 */
export class RealtyClient {
  private readonly o: RealtyClientOptions;

  constructor(options: RealtyClientOptions) {
    if (!(options.cacheTtlSeconds > 0)) throw new RangeError('cacheTtlSeconds must be > 0');
    new URL(options.baseUrl); // throws at construction on a malformed base URL
    this.o = options;
  }

  /** False without `RAPIDAPI_KEY`. */
  get configured(): boolean {
    return Boolean(this.o.apiKey);
  }

  /** For `/health` (`realty_api`): `not_configured`, or the upstream's `ok`/`failing`. */
  health(): UpstreamHealth | { readonly status: 'not_configured' } {
    return this.configured ? this.o.upstream.health() : { status: 'not_configured' };
  }

  /** Homes for sale matching `params`. */
  searchForSale(params: RealtySearchParams, options: LookupOptions = {}): Promise<ListingSearchResult> {
    return this.search('sale', params, options);
  }

  /** Rentals matching `params` (prices are monthly rents). */
  searchForRent(params: RealtySearchParams, options: LookupOptions = {}): Promise<ListingSearchResult> {
    return this.search('rent', params, options);
  }

  private async search(
    kind: 'sale' | 'rent',
    params: RealtySearchParams,
    options: LookupOptions,
  ): Promise<ListingSearchResult> {
    const p = parseInput(realtySearchSchema, params);
    if (kind === 'sale' && p.pets !== undefined)
      throw new ToolInputError('pets', 'only rentals can be filtered by pets');
    const state = normalizeState(p.state);
    const city = p.city.replace(/\s+/g, ' ');
    const location = `city:${city}, ${state}`;
    const page = p.page ?? 1;
    const resultsPerPage = p.resultsPerPage ?? 10;
    const query: Record<string, string> = {
      location,
      resultsPerPage: String(resultsPerPage),
      page: String(page),
    };
    if (p.sortBy) query.sortBy = p.sortBy;
    if (p.propertyTypes) query.propertyType = [...new Set(p.propertyTypes)].sort().join(',');
    if (p.minPrice !== undefined || p.maxPrice !== undefined)
      query.prices = `${p.minPrice ?? ''},${p.maxPrice ?? ''}`;
    if (p.minBeds !== undefined) query.bedrooms = String(p.minBeds);
    if (p.minBaths !== undefined) query.bathrooms = String(p.minBaths);
    if (p.pets) query.pets = [...new Set(p.pets)].sort().join(',');
    const apiKey = this.o.apiKey;
    if (!apiKey)
      throw new UpstreamError({
        upstream: 'realty_us',
        type: 'api',
        kind: 'not_configured',
        message: 'Listing search is not configured: set RAPIDAPI_KEY to enable the Realty US API',
      });

    const name = cacheKey('realty_us', { kind, ...query, location: location.toLowerCase() });
    const { value, cached } = await this.o.cache.wrap(
      name,
      async (signal) => {
        const path = kind === 'sale' ? 'properties/search-buy' : 'properties/search-rent';
        // Relative to the base, so a base URL with a path (a proxy, a gateway) keeps it.
        const url = new URL(path, this.o.baseUrl.endsWith('/') ? this.o.baseUrl : `${this.o.baseUrl}/`);
        for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
        const headers = {
          'x-rapidapi-key': apiKey,
          'x-rapidapi-host': this.o.host,
          accept: 'application/json',
        };
        const body = await this.o.upstream.fetchJson(
          url,
          { headers },
          { signal, deadline: options.deadline },
        );
        return toPage(body);
      },
      { ttlSeconds: this.o.cacheTtlSeconds, signal: options.signal },
    );
    return { kind, location, page, resultsPerPage, total: value.total, listings: value.listings, cached };
  }
}

interface StoredPage {
  readonly total: number | null;
  readonly listings: Listing[];
}

function toPage(body: unknown): StoredPage {
  const data = (body as { data?: unknown } | null)?.data;
  if (data === null || typeof data !== 'object')
    throw new UpstreamError({
      upstream: 'realty_us',
      type: 'api',
      kind: 'server',
      message: 'realty_us answered without listing data',
    });
  const d = data as { results?: unknown; total?: unknown; count?: unknown };
  const results = Array.isArray(d.results) ? d.results : [];
  const total = typeof d.total === 'number' ? d.total : typeof d.count === 'number' ? d.count : null;
  return { total, listings: results.map(simplifyListing).filter((l): l is Listing => l !== null) };
}
