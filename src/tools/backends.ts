import type { Cache } from '../cache/cache.js';
import type { Config } from '../config/config.js';
import type { Upstreams } from '../upstream/upstreams.js';
import { LocationClient } from './location-client.js';
import { MarketSearchClient } from './market-search-client.js';
import { RealtyClient } from './realty-client.js';

/** The data back-ends the agent's tools wrap (the financial maths needs none: see ./finance). */
export interface ToolBackends {
  readonly realty: RealtyClient;
  readonly location: LocationClient;
  /** Web search for market trends; `configured` only with `MARKET_SEARCH_API_KEY`. */
  readonly market: MarketSearchClient;
}

/** Builds the tool back-ends from configuration, on the service's cache and upstreams. */
export function createToolBackends(
  config: Config,
  deps: { cache: Cache; upstreams: Upstreams },
): ToolBackends {
  const e = config.env;
  return {
    realty: new RealtyClient({
      upstream: deps.upstreams.realty,
      cache: deps.cache,
      baseUrl: e.REALTY_API_BASE_URL,
      host: e.REALTY_API_HOST,
      apiKey: e.RAPIDAPI_KEY,
      cacheTtlSeconds: e.REALTY_CACHE_TTL_SECONDS,
    }),
    location: new LocationClient({
      nominatim: deps.upstreams.nominatim,
      overpass: deps.upstreams.overpass,
      cache: deps.cache,
      nominatimBaseUrl: e.NOMINATIM_BASE_URL,
      overpassBaseUrl: e.OVERPASS_BASE_URL,
      userAgent: e.OSM_USER_AGENT,
      cacheTtlSeconds: e.OSM_CACHE_TTL_SECONDS,
      // Overpass's own server-side limit stays under our request timeout.
      overpassTimeoutSeconds: Math.max(1, Math.min(180, Math.floor(e.UPSTREAM_TIMEOUT_MS / 1000) - 1)),
    }),
    market: new MarketSearchClient({
      upstream: deps.upstreams.marketSearch,
      cache: deps.cache,
      baseUrl: e.MARKET_SEARCH_BASE_URL,
      apiKey: e.MARKET_SEARCH_API_KEY,
      cacheTtlSeconds: e.MARKET_SEARCH_CACHE_TTL_SECONDS,
    }),
  };
}
