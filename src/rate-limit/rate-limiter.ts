import { LRUCache } from 'lru-cache';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitConfig, RateLimitRule } from '../config/config.js';
import { RateLimitedError, type RateLimitState } from '../core/errors.js';
import type { RedisConnection } from '../redis/connection.js';

/** Who is being limited: the namespaced user id, plus what selects the rule. */
export interface RateLimitSubject {
  /** The key the budget is counted under (a namespaced user id, or `ip:<address>`). */
  readonly key: string;
  readonly platform?: string;
  /** API key name, for per-key rules. */
  readonly tenant?: string;
}

interface Window {
  count: number;
  resetAt: number;
}

/**
 * Per-user rate limits: a fixed window of `points` per `durationSeconds`, counted atomically in
 * Redis (rate-limiter-flexible) so every instance shares one budget, and in a bounded memory
 * store while Redis is unreachable. Rules can differ per platform and per API key.
 */
export class RateLimiter {
  private readonly config: RateLimitConfig;
  private readonly connection: RedisConnection;
  private readonly redisLimiters = new Map<string, RateLimiterRedis>();
  private readonly memory: LRUCache<string, Window>;
  private readonly now: () => number;

  constructor(options: {
    connection: RedisConnection;
    rules: RateLimitConfig;
    memoryMaxEntries: number;
    now?: () => number;
  }) {
    this.config = options.rules;
    this.connection = options.connection;
    this.now = options.now ?? Date.now;
    this.memory = new LRUCache({ max: options.memoryMaxEntries });
  }

  /** The rule for a subject: a per-key rule wins over a per-platform rule over the default. */
  ruleFor(subject: Omit<RateLimitSubject, 'key'>): RateLimitRule {
    return (
      (subject.tenant !== undefined ? this.config.apiKeys.get(subject.tenant) : undefined) ??
      (subject.platform !== undefined ? this.config.platforms.get(subject.platform) : undefined) ??
      this.config.default
    );
  }

  /** The budget for requests refused before a user is known, per client address. */
  get unauthenticatedRule(): RateLimitRule {
    return this.config.unauthenticated;
  }

  /**
   * Spends one point of the subject's budget. Resolves with the state after spending;
   * rejects with {@link RateLimitedError} (carrying the same state) when the budget is spent.
   */
  async consume(
    subject: RateLimitSubject,
    rule: RateLimitRule = this.ruleFor(subject),
  ): Promise<RateLimitState> {
    const state = await this.connection.withFallback(
      (client) => this.consumeRedis(subject.key, rule, client),
      () => this.consumeMemory(subject.key, rule),
    );
    if (state.remaining < 0) throw new RateLimitedError({ ...state, remaining: 0 });
    return state;
  }

  private limiterFor(rule: RateLimitRule, client: RedisConnection['client']): RateLimiterRedis {
    const id = `${rule.points}x${rule.durationSeconds}`;
    let limiter = this.redisLimiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: client,
        keyPrefix: this.connection.key('rl', id),
        points: rule.points,
        duration: rule.durationSeconds,
        rejectIfRedisNotReady: true,
      });
      this.redisLimiters.set(id, limiter);
    }
    return limiter;
  }

  private async consumeRedis(key: string, rule: RateLimitRule, client: RedisConnection['client']) {
    try {
      const res = await this.limiterFor(rule, client).consume(key, 1);
      return this.toState(rule, res.remainingPoints, res.msBeforeNext);
    } catch (rejection) {
      // rate-limiter-flexible rejects with a RateLimiterRes when the budget is spent,
      // and with an Error when Redis failed (which the fallback then absorbs).
      if (rejection instanceof RateLimiterRes) return this.toState(rule, -1, rejection.msBeforeNext);
      throw rejection;
    }
  }

  private consumeMemory(key: string, rule: RateLimitRule): RateLimitState {
    const now = this.now();
    const id = `${rule.points}x${rule.durationSeconds}:${key}`;
    const durationMs = rule.durationSeconds * 1000;
    let w = this.memory.get(id);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + durationMs };
      this.memory.set(id, w, { ttl: durationMs });
    }
    w.count++;
    const remaining = w.count > rule.points ? -1 : rule.points - w.count;
    return this.toState(rule, remaining, w.resetAt - now);
  }

  private toState(rule: RateLimitRule, remaining: number, resetMs: number): RateLimitState {
    return {
      limit: rule.points,
      remaining,
      resetMs: Math.max(0, resetMs),
      windowSeconds: rule.durationSeconds,
    };
  }
}
