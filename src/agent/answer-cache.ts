import { LRUCache } from 'lru-cache';
import { type Cache, cacheKey } from '../cache/cache.js';
import { SharedFlight } from '../core/shared-flight.js';

/** Options of {@link AnswerCache}. */
export interface AnswerCacheOptions {
  readonly cache: Cache;
  /** `ANSWER_CACHE_TTL_SECONDS`; 0 turns reuse off (concurrent identical questions are still joined). */
  readonly ttlSeconds: number;
  /**
   * Everything besides the question that shapes an answer: model names, prompt version, which
   * tools are configured. Part of every key.
   */
  readonly fingerprint: string;
  readonly now?: () => number;
}

/** How long this process remembers the answers it just stored (bridging the store to Redis). */
const RECENT_SECONDS = 10;

/** A question reduced to what matters: case, spacing and trailing punctuation do not. */
export function normaliseQuestion(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\s?!.]+$/u, '');
}

/**
 * Reuse of final answers where it is safe: only for a question asked with no memory and no
 * conversation history, whose run used nothing user-specific (see the agent). Entries are
 * `answer:<hash of question + fingerprint + UTC day>` in the service cache (Redis, memory when
 * degraded), so they are never per user and never outlive a model or prompt change. Concurrent
 * identical questions join one run through {@link flight}.
 */
export class AnswerCache {
  /** Joins concurrent runs of the same question. */
  readonly flight = new SharedFlight();
  private readonly o: AnswerCacheOptions;
  private readonly now: () => number;
  /**
   * Answers this process just produced, for a few seconds: a question whose lookup missed while
   * an identical run was finishing finds the answer here instead of starting a second run before
   * the store to Redis lands.
   */
  private readonly recent: LRUCache<string, string> | undefined;

  constructor(options: AnswerCacheOptions) {
    if (!(options.ttlSeconds >= 0)) throw new RangeError('ttlSeconds must be >= 0');
    this.o = options;
    this.now = options.now ?? Date.now;
    this.recent =
      options.ttlSeconds > 0
        ? new LRUCache({ max: 500, ttl: Math.min(options.ttlSeconds, RECENT_SECONDS) * 1000 })
        : undefined;
  }

  /** False when answers are never stored (ANSWER_CACHE_TTL_SECONDS=0). */
  get storing(): boolean {
    return this.o.ttlSeconds > 0;
  }

  /** The cache entry name of a question. */
  keyFor(question: string): string {
    const day = new Date(this.now()).toISOString().slice(0, 10);
    return cacheKey('answer', { q: normaliseQuestion(question), f: this.o.fingerprint, d: day });
  }

  /** An answer this process stored in the last few seconds (no Redis round trip). */
  recentAnswer(key: string): string | undefined {
    return this.recent?.get(key);
  }

  /**
   * The stored answer, if any. Read speculatively (before it is known whether the question may
   * use a shared answer), so it is not counted: {@link recordLookup} counts it when it is used.
   */
  async get(key: string): Promise<string | undefined> {
    if (!this.storing) return undefined;
    const fresh = this.recent?.get(key);
    if (fresh !== undefined) return fresh;
    const hit = await this.o.cache.get<{ text?: unknown }>(key, { count: false });
    return typeof hit?.text === 'string' ? hit.text : undefined;
  }

  /** Counts a lookup whose result was used, in the cache metrics (source `answer`). */
  recordLookup(key: string, hit: boolean): void {
    if (this.storing) this.o.cache.recordLookup(key, hit);
  }

  /** Stores an answer for the TTL. */
  async set(key: string, text: string): Promise<void> {
    if (!this.storing) return;
    this.recent?.set(key, text);
    await this.o.cache.set(key, { text }, this.o.ttlSeconds);
  }
}
