import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AppError } from '../core/errors.js';
import type { RedisConnection } from '../redis/connection.js';

const DAY_MS = 86_400_000;

/** Milliseconds from `now` to the next UTC midnight (never 0). */
export function msUntilUtcMidnight(now: number): number {
  return DAY_MS - (now % DAY_MS);
}

/** `YYYYMMDD` of `now` in UTC. */
function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
}

/**
 * The user's tokens for today are spent: 429 `token_budget_exhausted` with `Retry-After` up to the
 * next UTC midnight, and a polite message the chat platforms can show as it is.
 */
export class TokenBudgetExhaustedError extends AppError {
  readonly retryAfterMs: number;
  constructor(limit: number, retryAfterMs: number) {
    super(
      'token_budget_exhausted',
      `Sorry, you have used today's allowance of ${limit} tokens with the assistant. It resets at midnight UTC; please come back then.`,
      { details: { limit_tokens: limit } },
    );
    this.name = 'TokenBudgetExhaustedError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** Options of {@link TokenBudget}. */
export interface TokenBudgetOptions {
  readonly connection: RedisConnection;
  /** Tokens per user per UTC day (`LLM_USER_DAILY_TOKENS`); 0 = unlimited. */
  readonly dailyLimit: number;
  /** Users counted in memory while Redis is unreachable. */
  readonly memoryMaxEntries: number;
  readonly now?: () => number;
}

/**
 * Per-user daily token budget, counted from the usage the model reports: an INCRBY per model call
 * on `<prefix>tokens:<user hash>:<YYYYMMDD>`, expiring at the next UTC midnight (plus a minute);
 * a bounded memory counter while Redis is unreachable.
 */
export class TokenBudget {
  readonly dailyLimit: number;
  private readonly o: TokenBudgetOptions;
  private readonly memory: LRUCache<string, { used: number }>;
  private readonly now: () => number;

  constructor(options: TokenBudgetOptions) {
    if (!Number.isInteger(options.dailyLimit) || options.dailyLimit < 0)
      throw new RangeError('dailyLimit must be a whole number >= 0');
    this.o = options;
    this.dailyLimit = options.dailyLimit;
    this.now = options.now ?? Date.now;
    this.memory = new LRUCache({ max: options.memoryMaxEntries, ttl: DAY_MS + 60_000 });
  }

  /** False when the budget is unlimited. */
  get enabled(): boolean {
    return this.dailyLimit > 0;
  }

  private key(userId: string, now: number): string {
    const user = hash('sha256', userId, 'hex').slice(0, 32);
    return this.o.connection.key('tokens', user, utcDay(now));
  }

  /** Tokens the user spent today. */
  async used(userId: string): Promise<number> {
    if (!this.enabled) return 0;
    const key = this.key(userId, this.now());
    return this.o.connection.withFallback(
      async (c) => Number((await c.get(key)) ?? 0),
      () => this.memory.get(key)?.used ?? 0,
    );
  }

  /**
   * Tokens the user may still spend today (Infinity when unlimited); throws
   * {@link TokenBudgetExhaustedError} when none are left.
   */
  async remaining(userId: string): Promise<number> {
    if (!this.enabled) return Number.POSITIVE_INFINITY;
    const left = this.dailyLimit - (await this.used(userId));
    if (left <= 0) throw new TokenBudgetExhaustedError(this.dailyLimit, msUntilUtcMidnight(this.now()));
    return left;
  }

  /** Counts tokens the model reported for the user. */
  async add(userId: string, tokens: number): Promise<void> {
    if (!this.enabled || !(tokens > 0)) return;
    const now = this.now();
    const key = this.key(userId, now);
    const expireAt = now + msUntilUtcMidnight(now) + 60_000;
    await this.o.connection.withFallback(
      async (c) => {
        await c.multi().incrby(key, Math.round(tokens)).pexpireat(key, expireAt).exec();
      },
      () => {
        const entry = this.memory.get(key);
        if (entry) entry.used += tokens;
        else this.memory.set(key, { used: tokens }, { ttl: expireAt - now });
      },
    );
  }
}
