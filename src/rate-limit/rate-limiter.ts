import type { Result } from 'ioredis';
import { LRUCache } from 'lru-cache';
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

/**
 * Spends points of a fixed window atomically: the window starts with the first point and lasts
 * ARGV[2] seconds; answers {points spent in the window, milliseconds until it ends}. The same
 * script and key layout as rate-limiter-flexible's RateLimiterRedis, which this limiter used
 * before: instances of either version share one budget. Calling it directly instead of through
 * that library halved the rate limit's cost per message (its promise layers and result objects).
 */
const FIXED_WINDOW_LUA = `redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX')
local consumed = redis.call('incrby', KEYS[1], ARGV[1])
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('expire', KEYS[1], ARGV[2])
  ttl = 1000 * ARGV[2]
end
return {consumed, ttl}`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** {@link FIXED_WINDOW_LUA}: points spent in the window and its milliseconds left. */
    rateLimitSpend(key: string, points: string, seconds: string): Result<[number, number], Context>;
  }
}

interface Window {
  count: number;
  resetAt: number;
}

/**
 * Per-user rate limits: a fixed window of `points` per `durationSeconds`, counted atomically in
 * Redis (one Lua script) so every instance shares one budget, and in a bounded memory
 * store while Redis is unreachable. Rules can differ per platform and per API key.
 */
export class RateLimiter {
  private readonly config: RateLimitConfig;
  private readonly connection: RedisConnection;
  /** Redis key prefix per rule: `<prefix>rl:<points>x<seconds>:`. */
  private readonly prefixes = new Map<RateLimitRule, string>();
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
    options.connection.client.defineCommand('rateLimitSpend', { numberOfKeys: 1, lua: FIXED_WINDOW_LUA });
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
  consume(subject: RateLimitSubject, rule: RateLimitRule = this.ruleFor(subject)): Promise<RateLimitState> {
    return this.connection
      .withFallback(
        (client) => this.consumeRedis(subject.key, rule, client),
        () => this.consumeMemory(subject.key, rule),
      )
      .then(admit);
  }

  private prefixFor(rule: RateLimitRule): string {
    let prefix = this.prefixes.get(rule);
    if (prefix === undefined) {
      prefix = `${this.connection.key('rl', `${rule.points}x${rule.durationSeconds}`)}:`;
      this.prefixes.set(rule, prefix);
    }
    return prefix;
  }

  private consumeRedis(key: string, rule: RateLimitRule, client: RedisConnection['client']) {
    return client
      .rateLimitSpend(this.prefixFor(rule) + key, '1', String(rule.durationSeconds))
      .then(([spent, msLeft]) => this.toState(rule, spent > rule.points ? -1 : rule.points - spent, msLeft));
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

/** The state after spending, or {@link RateLimitedError} (carrying it) when the budget was already spent. */
function admit(state: RateLimitState): RateLimitState {
  if (state.remaining < 0) throw new RateLimitedError({ ...state, remaining: 0 });
  return state;
}
