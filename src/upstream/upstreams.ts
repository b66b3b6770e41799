import type { Config } from '../config/config.js';
import type { Env } from '../config/env-schema.js';
import type { AppError, ErrorType } from '../core/errors.js';
import type { Logger } from '../logging/logger.js';
import type { RedisConnection } from '../redis/connection.js';
import { type LimitSettings, UpstreamLimiter } from './limiter.js';
import type { RetryPolicy } from './retry.js';
import { Upstream } from './upstream.js';

/** The service's outbound dependencies, one {@link Upstream} (and limiter) each. */
export interface Upstreams {
  /** The language model (`errors_by_type.llm`). Give `llm.fetch` to ChatOpenAI with `maxRetries: 0`. */
  readonly llm: Upstream;
  /** Realty US on RapidAPI (`realty_us`). */
  readonly realty: Upstream;
  /** OpenStreetMap geocoding (at most one request per second across instances by default). */
  readonly nominatim: Upstream;
  /** OpenStreetMap points of interest. */
  readonly overpass: Upstream;
  /** Web search for market trends (`MARKET_SEARCH_*`). */
  readonly marketSearch: Upstream;
  /** Stops every limiter (waiting calls fail with `shutting_down`). */
  stop(): Promise<void>;
}

/** Shared dependencies of {@link createUpstreams}. */
export interface UpstreamDeps {
  /** Shares each reservoir across instances (memory per instance while Redis is down). */
  readonly connection?: RedisConnection;
  readonly logger: Logger;
  /** Wire to `ServiceMetrics.recordErrorEvent` (the third argument names the upstream). */
  readonly onError?: (type: ErrorType, err: AppError, upstream: string) => void;
  readonly random?: () => number;
}

/** The retry policy of every upstream, from `UPSTREAM_MAX_RETRIES` and friends. */
export function retryPolicyFrom(env: Env): RetryPolicy {
  return {
    maxRetries: env.UPSTREAM_MAX_RETRIES,
    baseDelayMs: env.UPSTREAM_RETRY_BASE_DELAY_MS,
    maxDelayMs: env.UPSTREAM_RETRY_MAX_DELAY_MS,
    maxRetryAfterMs: env.UPSTREAM_MAX_RETRY_AFTER_MS,
  };
}

type Prefix = 'LLM' | 'REALTY' | 'NOMINATIM' | 'OVERPASS' | 'MARKET_SEARCH';

/** The limits of one upstream from `<PREFIX>_MAX_CONCURRENT`, `_RESERVOIR`, `_RESERVOIR_INTERVAL_MS`, `_QUEUE_LIMIT`. */
export function limitsFrom(env: Env, prefix: Prefix): LimitSettings {
  return {
    maxConcurrent: env[`${prefix}_MAX_CONCURRENT`],
    reservoir: env[`${prefix}_RESERVOIR`],
    reservoirIntervalMs: env[`${prefix}_RESERVOIR_INTERVAL_MS`],
    queueLimit: env[`${prefix}_QUEUE_LIMIT`],
  };
}

/** Builds the upstreams from configuration. The caller owns them: call `stop()` on shutdown. */
export function createUpstreams(config: Config, deps: UpstreamDeps): Upstreams {
  const env = config.env;
  const retry = retryPolicyFrom(env);
  const make = (
    name: string,
    prefix: Prefix,
    type: 'api' | 'llm',
    timeoutMs: number,
    keyVariable?: string,
  ): Upstream =>
    new Upstream({
      name,
      type,
      timeoutMs,
      retry,
      keyVariable,
      logger: deps.logger,
      onError: deps.onError,
      random: deps.random,
      limiter: new UpstreamLimiter({
        name,
        settings: limitsFrom(env, prefix),
        connection: deps.connection,
        logger: deps.logger,
      }),
    });
  const llm = make('llm', 'LLM', 'llm', env.LLM_TIMEOUT_MS, 'OPENAI_API_KEY');
  const realty = make('realty_us', 'REALTY', 'api', env.UPSTREAM_TIMEOUT_MS, 'RAPIDAPI_KEY');
  const nominatim = make('nominatim', 'NOMINATIM', 'api', env.UPSTREAM_TIMEOUT_MS);
  const overpass = make('overpass', 'OVERPASS', 'api', env.UPSTREAM_TIMEOUT_MS);
  const marketSearch = make(
    'market_search',
    'MARKET_SEARCH',
    'api',
    env.UPSTREAM_TIMEOUT_MS,
    'MARKET_SEARCH_API_KEY',
  );
  const all = [llm, realty, nominatim, overpass, marketSearch];
  return {
    llm,
    realty,
    nominatim,
    overpass,
    marketSearch,
    async stop() {
      await Promise.all(all.map((u) => u.stop()));
    },
  };
}
