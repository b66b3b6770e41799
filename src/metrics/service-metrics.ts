import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_TYPES, type ErrorType } from '../core/errors.js';
import type { StoreMode } from '../redis/connection.js';
import { SlidingWindow } from './sliding-window.js';

/** The JSON shape of `GET /metrics` (see CONTRACT.md and the README). */
export interface MetricsJson {
  window_seconds: number;
  requests_total: number;
  errors_total: number;
  error_rate: number;
  errors_by_type: Record<ErrorType, number>;
  rate_limited_total: number;
  avg_response_time: number;
  response_time_seconds: { p50: number; p90: number; p99: number };
  cache_hit_rate: number;
  cache: { hits: number; misses: number };
  redis: { connected: boolean; mode: StoreMode };
  since_start: {
    requests_total: number;
    errors_total: number;
    rate_limited_total: number;
    uptime_seconds: number;
  };
}

const round = (n: number, digits = 6) => Number(n.toFixed(digits));

/**
 * Everything the service counts, in two views: Prometheus series (lifetime counters, for scraping)
 * and a sliding-window JSON summary (for `curl | jq`). No series carries a per-user label.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly window: SlidingWindow;
  private readonly startedAt = Date.now();
  private redisMode: StoreMode = 'memory';
  private totals = { requests: 0, errors: 0, rateLimited: 0 };

  private readonly requests = new Counter({
    name: 'realty_chat_requests_total',
    help: 'Chat requests finished, by platform and outcome',
    labelNames: ['platform', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'realty_errors_total',
    help: 'Error events by type (a failed request counts once; a Redis failure absorbed by memory mode counts as redis)',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  private readonly rejected = new Counter({
    name: 'realty_rejected_requests_total',
    help: 'Requests refused before reaching the assistant, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'realty_chat_response_seconds',
    help: 'Time to answer a chat request',
    labelNames: ['platform'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly rateLimitedCounter = new Counter({
    name: 'realty_rate_limited_total',
    help: 'Requests refused by a rate limit, by platform',
    labelNames: ['platform'] as const,
    registers: [this.registry],
  });
  private readonly cacheCounter = new Counter({
    name: 'realty_cache_requests_total',
    help: 'Cache lookups by source and result (hit or miss)',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });
  private readonly redisUp = new Gauge({
    name: 'realty_redis_up',
    help: '1 when Redis is reachable, 0 in degraded (memory) mode',
    registers: [this.registry],
  });
  private readonly degraded = new Gauge({
    name: 'realty_degraded_mode',
    help: '1 while cache, rate limits and de-duplication run from memory',
    registers: [this.registry],
  });
  private readonly inflight = new Gauge({
    name: 'realty_inflight_messages',
    help: 'Messages being answered right now',
    registers: [this.registry],
  });

  constructor(options: { windowSeconds: number; collectDefaults?: boolean; now?: () => number }) {
    this.window = new SlidingWindow(options.windowSeconds, options.now);
    if (options.collectDefaults !== false) collectDefaultMetrics({ register: this.registry });
    for (const t of ERROR_TYPES) this.errors.inc({ type: t }, 0);
    this.degraded.set(1);
    this.redisUp.set(0);
  }

  /** A chat request finished (success when `errorType` is undefined). */
  recordRequest(platform: string, durationSeconds: number, errorType?: ErrorType): void {
    this.totals.requests++;
    this.window.recordRequest(durationSeconds, errorType);
    this.duration.observe({ platform }, durationSeconds);
    this.requests.inc({
      platform,
      outcome: errorType ? (errorType === 'rate_limit' ? 'rate_limited' : 'error') : 'ok',
    });
    if (errorType) {
      this.totals.errors++;
      this.errors.inc({ type: errorType });
      if (errorType === 'rate_limit') {
        this.totals.rateLimited++;
        this.rateLimitedCounter.inc({ platform });
      }
    }
  }

  /** A request refused before the assistant (bad key, bad body, unknown route), by its stable code. */
  recordRejected(code: string): void {
    this.rejected.inc({ code });
  }

  /** An error that did not fail a request, such as a Redis command absorbed by memory mode. */
  recordErrorEvent(type: ErrorType): void {
    this.errors.inc({ type });
    this.window.recordErrorEvent(type);
  }

  recordCache(source: string, hit: boolean): void {
    this.cacheCounter.inc({ source, result: hit ? 'hit' : 'miss' });
    this.window.recordCache(hit);
  }

  setRedisMode(mode: StoreMode): void {
    this.redisMode = mode;
    this.redisUp.set(mode === 'redis' ? 1 : 0);
    this.degraded.set(mode === 'memory' ? 1 : 0);
  }

  trackInflight(delta: 1 | -1): void {
    this.inflight.inc(delta);
  }

  /** The sliding-window summary served as JSON. */
  json(): MetricsJson {
    const s = this.window.snapshot();
    const lookups = s.cacheHits + s.cacheMisses;
    return {
      window_seconds: s.windowSeconds,
      requests_total: s.requests,
      errors_total: s.errors,
      error_rate: s.requests === 0 ? 0 : round(s.errors / s.requests),
      errors_by_type: s.errorsByType,
      rate_limited_total: s.rateLimited,
      avg_response_time: s.requests === 0 ? 0 : round(s.durationSum / s.requests),
      response_time_seconds: { p50: round(s.p50), p90: round(s.p90), p99: round(s.p99) },
      cache_hit_rate: lookups === 0 ? 0 : round(s.cacheHits / lookups),
      cache: { hits: s.cacheHits, misses: s.cacheMisses },
      redis: { connected: this.redisMode === 'redis', mode: this.redisMode },
      since_start: {
        requests_total: this.totals.requests,
        errors_total: this.totals.errors,
        rate_limited_total: this.totals.rateLimited,
        uptime_seconds: Math.round((Date.now() - this.startedAt) / 1000),
      },
    };
  }

  /** Prometheus text exposition. */
  async prometheus(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
