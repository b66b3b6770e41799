import { z } from 'zod';
import { type Cache, cacheKey } from '../cache/cache.js';
import type { Upstream, UpstreamHealth } from '../upstream/upstream.js';
import { UpstreamError } from '../upstream/upstream-error.js';
import type { LookupOptions } from './lookup-options.js';
import { parseInput } from './parse-input.js';

/** Recency filters of the search (publish or update date). */
export const TIME_RANGES = ['week', 'month', 'year'] as const;

/** Input of {@link MarketSearchClient.search} (also the agent's web-search tool schema). */
export const marketSearchSchema = z.object({
  query: z
    .string()
    .trim()
    .min(3)
    .max(300)
    .describe('What to look up, e.g. "Austin TX housing market median price trend 2025"'),
  maxResults: z.number().int().min(1).max(10).optional().describe('Most results (default 5)'),
  timeRange: z.enum(TIME_RANGES).optional().describe('Only pages published or updated within this period'),
  news: z.boolean().optional().describe('Search news articles only (default: the whole web)'),
});

/** One search result as the model sees it. */
export interface MarketSearchResult {
  readonly title: string;
  readonly url: string;
  /** The page's relevant excerpt. */
  readonly content: string;
  /** Relevance, 0 to 1, when the API gives it. */
  readonly score: number | null;
  /** When the API knows it (news results). */
  readonly publishedDate: string | null;
}

/** A search and its results. */
export interface MarketSearchOutcome {
  readonly query: string;
  readonly results: readonly MarketSearchResult[];
  /** True when served from the cache (no upstream request). */
  readonly cached: boolean;
}

/** Options of {@link MarketSearchClient}. */
export interface MarketSearchClientOptions {
  /** The `market_search` upstream (limiter, retries, typed errors, bad key logged once). */
  readonly upstream: Upstream;
  readonly cache: Cache;
  /** `MARKET_SEARCH_BASE_URL`, e.g. `https://api.tavily.com` (the search is `POST <base>/search`). */
  readonly baseUrl: string;
  /** `MARKET_SEARCH_API_KEY`; without it the market trends subagent is not offered at all. */
  readonly apiKey?: string;
  /** `MARKET_SEARCH_CACHE_TTL_SECONDS`. */
  readonly cacheTtlSeconds: number;
}

const MAX_CONTENT_CHARS = 1200;
/** Tavily's "plan limit" and "pay-as-you-go limit" answers: out of credits, not worth a retry. */
const CREDIT_LIMIT_STATUSES = new Set([432, 433]);

/**
 * Web search for market trends on the Tavily search API (`POST /search`, `Authorization: Bearer`,
 * basic depth: one credit per search). Results are simplified for the model (title, link, excerpt,
 * score, date), cached under `market_search:` for the configured TTL (errors never cached),
 * concurrent identical searches make one request (`Cache.wrap`), and requests go through the
 * `market_search` upstream's limiter and retries.
 */
export class MarketSearchClient {
  private readonly o: MarketSearchClientOptions;
  private readonly endpoint: URL;

  constructor(options: MarketSearchClientOptions) {
    if (!(options.cacheTtlSeconds > 0)) throw new RangeError('cacheTtlSeconds must be > 0');
    const base = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    // Relative to the base, so a base URL with a path (a proxy, a gateway) keeps it.
    this.endpoint = new URL('search', base);
    this.o = options;
  }

  /** False without `MARKET_SEARCH_API_KEY`. */
  get configured(): boolean {
    return Boolean(this.o.apiKey);
  }

  /**
   * For `/health` (`market_search`): the upstream's `ok`/`failing`, or `off` without a key (an
   * optional feature, like an adapter without credentials: the service is not degraded by it).
   */
  health(): UpstreamHealth | { readonly status: 'off'; readonly detail: string } {
    return this.configured ? this.o.upstream.health() : { status: 'off', detail: 'no MARKET_SEARCH_API_KEY' };
  }

  /** Searches the web; results best first. */
  async search(
    params: z.input<typeof marketSearchSchema>,
    options: LookupOptions = {},
  ): Promise<MarketSearchOutcome> {
    const p = parseInput(marketSearchSchema, params);
    const apiKey = this.o.apiKey;
    if (!apiKey)
      throw new UpstreamError({
        upstream: 'market_search',
        type: 'api',
        kind: 'not_configured',
        message: 'Market search is not configured: set MARKET_SEARCH_API_KEY to enable it',
      });
    const query = p.query.replace(/\s+/g, ' ');
    const body = {
      query,
      topic: p.news ? 'news' : 'general',
      search_depth: 'basic',
      max_results: p.maxResults ?? 5,
      ...(p.timeRange ? { time_range: p.timeRange } : {}),
      include_answer: false,
      include_raw_content: false,
      include_images: false,
    };
    const name = cacheKey('market_search', { ...body, query: query.toLowerCase() });
    const { value, cached } = await this.o.cache.wrap(
      name,
      async (signal) => {
        const headers = {
          authorization: `Bearer ${apiKey}`,
          'content-type': 'application/json',
          accept: 'application/json',
        };
        const json = await this.o.upstream
          .fetchJson(
            this.endpoint,
            { method: 'POST', headers, body: JSON.stringify(body) },
            { signal, deadline: options.deadline },
          )
          .catch((err: unknown) => {
            throw creditLimit(err) ?? err;
          });
        return toResults(json);
      },
      { ttlSeconds: this.o.cacheTtlSeconds, signal: options.signal },
    );
    return { query, results: value, cached };
  }
}

/** Tavily's 432/433 (plan or pay-as-you-go limit reached) as the quota failure they are. */
function creditLimit(err: unknown): UpstreamError | undefined {
  if (!(err instanceof UpstreamError) || !CREDIT_LIMIT_STATUSES.has(err.httpStatus ?? 0)) return undefined;
  return new UpstreamError({
    upstream: err.upstream,
    type: 'api',
    kind: 'quota',
    httpStatus: err.httpStatus,
    retryable: false,
    message: `${err.upstream} plan or credit limit reached (HTTP ${err.httpStatus})`,
  });
}

function toResults(body: unknown): MarketSearchResult[] {
  const results = (body as { results?: unknown } | null)?.results;
  if (!Array.isArray(results))
    throw new UpstreamError({
      upstream: 'market_search',
      type: 'api',
      kind: 'server',
      message: 'market_search answered in an unexpected shape',
    });
  return results.map(toResult).filter((r): r is MarketSearchResult => r !== null);
}

function toResult(raw: unknown): MarketSearchResult | null {
  const r = (raw ?? {}) as Record<string, unknown>;
  if (typeof r.url !== 'string' || typeof r.title !== 'string') return null;
  let url: URL;
  try {
    url = new URL(r.url);
  } catch {
    return null;
  }
  // Only web pages: never a javascript:, data: or file: link in an answer.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  const content = typeof r.content === 'string' ? r.content.replace(/\s+/g, ' ').trim() : '';
  return {
    title: r.title.replace(/\s+/g, ' ').trim().slice(0, 200),
    url: url.href,
    content: content.length > MAX_CONTENT_CHARS ? `${content.slice(0, MAX_CONTENT_CHARS)}...` : content,
    score: typeof r.score === 'number' && Number.isFinite(r.score) ? r.score : null,
    publishedDate: typeof r.published_date === 'string' ? r.published_date.slice(0, 40) : null,
  };
}
