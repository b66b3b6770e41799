import { type Config, loadConfig } from '../config/config.js';
import { AppError } from '../core/errors.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { RedisConnection } from '../redis/connection.js';
import { cacheNamespace, scanUnlink } from './cache.js';
import { assertValidPattern } from './glob.js';

/** Options for {@link cacheClearPattern}. */
export interface CacheClearOptions {
  /** Configuration to use; by default it is loaded from the environment and `.env` like the service's. */
  readonly config?: Config;
  /** Logger for the Redis connection; silent by default. */
  readonly logger?: Logger;
  /** Longest wait for Redis to answer before giving up; default REDIS_CONNECT_TIMEOUT_MS + 1 s. */
  readonly connectTimeoutMs?: number;
}

/** What {@link cacheClearPattern} did. */
export interface CacheClearOutcome {
  readonly pattern: string;
  /** Cache entries deleted. */
  readonly deleted: number;
  /** The Redis key pattern actually scanned: `<prefix>cache:<pattern>`. */
  readonly keyPattern: string;
  /** `host:port` of the Redis used (never its password). */
  readonly redis: string;
  readonly durationMs: number;
}

/** `host:port` of a Redis URL, for messages; credentials are left out. */
export function redisTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '6379'}`;
  } catch {
    return 'the configured Redis';
  }
}

/**
 * The runbook's `cache_clear_pattern`, usable from a script or a REPL:
 * `await cacheClearPattern('realty_us:*')` deletes the cache entries whose names match the glob in
 * the Redis of `REDIS_URL` (SCAN + UNLINK in batches, never KEYS; the server never blocks).
 * Only the cache namespace `<REDIS_KEY_PREFIX>cache:` is touched: `*` empties the cache, and
 * rate-limit and de-duplication state or other applications' keys are never matched.
 * Throws `redis_unavailable` with a plain message when Redis cannot be reached (a running
 * service's in-memory cache is cleared by the `/realty-clear-cache` chat command instead).
 */
export async function cacheClearPattern(
  pattern: string,
  options: CacheClearOptions = {},
): Promise<CacheClearOutcome> {
  try {
    assertValidPattern(pattern);
  } catch (err) {
    throw new AppError('validation_failed', (err as Error).message);
  }
  const config = options.config ?? loadConfig();
  const env = config.env;
  const target = redisTarget(env.REDIS_URL);
  const keyPattern = cacheNamespace(env.REDIS_KEY_PREFIX) + pattern;
  const connection = new RedisConnection({
    url: env.REDIS_URL,
    keyPrefix: env.REDIS_KEY_PREFIX,
    commandTimeoutMs: Math.max(env.REDIS_COMMAND_TIMEOUT_MS, 5000),
    connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS,
    logger: options.logger ?? createLogger({ level: 'silent' }),
  });
  const t0 = performance.now();
  try {
    connection.start();
    const ready = await connection.waitUntilReady(
      options.connectTimeoutMs ?? env.REDIS_CONNECT_TIMEOUT_MS + 1000,
    );
    if (!ready) {
      throw new AppError(
        'redis_unavailable',
        `Redis at ${target} is unreachable: no cache entry was cleared (check REDIS_URL and that Redis runs; a running service's in-memory cache is cleared with /realty-clear-cache)`,
      );
    }
    let deleted: number;
    try {
      deleted = await scanUnlink(connection.client, keyPattern);
    } catch (err) {
      throw new AppError(
        'redis_unavailable',
        `Redis at ${target} failed while clearing (${(err as Error).message}); some entries may remain, run it again`,
        { cause: err },
      );
    }
    return { pattern, deleted, keyPattern, redis: target, durationMs: Math.round(performance.now() - t0) };
  } finally {
    await connection.close();
  }
}
