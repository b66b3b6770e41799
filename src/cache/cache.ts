import { hash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { abortReason } from '../core/abort.js';
import type { StopSource } from '../core/abort-scope.js';
import { SharedFlight } from '../core/shared-flight.js';
import type { Logger } from '../logging/logger.js';
import type { RedisConnection } from '../redis/connection.js';
import { assertValidPattern, globToRegExp } from './glob.js';

const SOURCE = /^[a-z0-9_]{1,32}$/;
const NAME = /^[a-z0-9_]{1,32}:[\x21-\x7e]{1,200}$/;

/** Options for {@link Cache}. */
export interface CacheOptions {
  readonly connection: RedisConnection;
  readonly defaultTtlSeconds: number;
  /** Entries kept in memory while Redis is unreachable (least recently used go first). */
  readonly memoryMaxEntries: number;
  readonly logger: Logger;
  readonly onLookup?: (source: string, hit: boolean) => void;
  /**
   * How long {@link Cache.wrap} keeps what it read or loaded in this process as well (0 or
   * absent: never). See {@link Cache.wrap}.
   */
  readonly localSeconds?: number;
}

/** Bounds of the local layer (most recently used kept): tool results are a few KB each. */
const LOCAL_MAX_ENTRIES = 1000;
const LOCAL_MAX_CHARS = 8 * 1024 * 1024;

/** Result of clearing: how many entries went from Redis and from the memory store. */
export interface ClearResult {
  readonly redisDeleted: number;
  readonly memoryDeleted: number;
  /** False when Redis was unreachable, so only the memory store was cleared. */
  readonly redisReachable: boolean;
}

/** The Redis key space holding cache entries: `<prefix>cache:<source>:<hash>`. */
export function cacheNamespace(keyPrefix: string): string {
  return `${keyPrefix}cache:`;
}

/** Stable JSON: object keys sorted (undefined members dropped), so equal inputs give equal strings. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  // Plain loops: this runs several times per message (cache keys, the agent's repeat guard).
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + stableStringify(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(record).sort()) {
    const v = record[key];
    if (v === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${stableStringify(v)}`;
  }
  return `${out}}`;
}

/** The entry name for `parts` under `source`: `<source>:<sha256 of the parts>`. */
export function cacheKey(source: string, parts: unknown): string {
  if (!SOURCE.test(source)) throw new RangeError(`cache source "${source}" must match ${SOURCE}`);
  return `${source}:${hash('sha256', stableStringify(parts), 'hex').slice(0, 32)}`;
}

/**
 * Deletes the keys matching `match` with SCAN and UNLINK in batches (never KEYS), keeping
 * at most `maxInFlight` UNLINKs in flight while the scan goes on. Returns how many went.
 * A small `maxInFlight` keeps the queue in front of other clients' commands short (the server
 * answers them within a few batches' time); the client's parsing sets the pace anyway.
 */
export async function scanUnlink(
  client: Redis,
  match: string,
  batch = 1000,
  maxInFlight = 2,
): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  // Every UNLINK settles into this set's bookkeeping, failed or not: if the connection drops, the
  // first error is thrown once, and no UNLINK is left rejecting with nobody listening.
  let failure: { error: unknown } | undefined;
  const pending = new Set<Promise<void>>();
  try {
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', batch);
      cursor = next;
      if (keys.length > 0) {
        const p: Promise<void> = client.unlink(...keys).then(
          (n) => {
            deleted += n;
            pending.delete(p);
          },
          (error: unknown) => {
            failure ??= { error };
            pending.delete(p);
          },
        );
        pending.add(p);
        if (pending.size >= maxInFlight) await Promise.race(pending);
        if (failure) throw failure.error;
      }
    } while (cursor !== '0');
  } finally {
    await Promise.all(pending);
  }
  if (failure) throw failure.error;
  return deleted;
}

/**
 * The service cache: JSON values with a TTL in Redis, or in a bounded memory store when Redis
 * is unreachable. Read-through `wrap` computes each missing key once however many callers wait.
 */
export class Cache {
  private readonly options: CacheOptions;
  private readonly memory: LRUCache<string, string>;
  private readonly flights = new SharedFlight();
  private readonly namespace: string;
  /** {@link wrap}'s local layer: entry name -> the stored JSON, for `localSeconds`. */
  private readonly local: LRUCache<string, string> | undefined;

  constructor(options: CacheOptions) {
    if (!(options.defaultTtlSeconds > 0)) throw new RangeError('defaultTtlSeconds must be positive');
    this.options = options;
    this.namespace = cacheNamespace(options.connection.keyPrefix);
    this.memory = new LRUCache({ max: options.memoryMaxEntries, ttlAutopurge: false });
    const localSeconds = options.localSeconds ?? 0;
    if (!(localSeconds >= 0)) throw new RangeError('localSeconds must be >= 0');
    this.local =
      localSeconds > 0
        ? new LRUCache({
            max: LOCAL_MAX_ENTRIES,
            maxSize: LOCAL_MAX_CHARS,
            sizeCalculation: (raw, name) => raw.length + name.length,
            ttl: localSeconds * 1000,
          })
        : undefined;
  }

  /**
   * Reads an entry; a missing, expired or corrupt entry is a miss (a corrupt one is removed).
   * The lookup counts as a hit or miss unless `count` is false: a speculative read whose result
   * may go unused is counted by the caller with {@link recordLookup} once it is used.
   */
  async get<T>(name: string, options: { count?: boolean } = {}): Promise<T | undefined> {
    assertName(name);
    return this.decode<T>(name, await this.readRaw(name), options.count !== false);
  }

  /** The stored JSON of `name` (Redis, or the memory store when degraded), null when missing. */
  private readRaw(name: string): Promise<string | null> {
    const key = this.namespace + name;
    return this.options.connection.withFallback(
      (c) => c.get(key),
      () => this.memory.get(key) ?? null,
    );
  }

  /** A stored entry's value; a missing or corrupt one is a miss (a corrupt one is removed). */
  private async decode<T>(name: string, raw: string | null, count: boolean): Promise<T | undefined> {
    if (raw === null) {
      if (count) this.recordLookup(name, false);
      return undefined;
    }
    try {
      const value = JSON.parse(raw) as T;
      if (count) this.recordLookup(name, true);
      return value;
    } catch {
      this.options.logger.warn({ cache: { name } }, 'corrupt cache entry removed');
      if (count) this.recordLookup(name, false);
      await this.delete(name);
      return undefined;
    }
  }

  /** Counts a lookup of `name` as a hit or a miss (the cache metrics). */
  recordLookup(name: string, hit: boolean): void {
    this.options.onLookup?.(name.slice(0, name.indexOf(':')), hit);
  }

  /** Stores a JSON-serialisable value for `ttlSeconds` (the default TTL when omitted). */
  async set(name: string, value: unknown, ttlSeconds = this.options.defaultTtlSeconds): Promise<void> {
    assertName(name);
    if (value === undefined) throw new TypeError('cannot cache undefined');
    this.local?.delete(name);
    await this.store(name, JSON.stringify(value), ttlSeconds);
  }

  /** Stores JSON already made (see {@link set}). */
  private async store(name: string, raw: string, ttlSeconds: number): Promise<void> {
    const key = this.namespace + name;
    const ttlMs = Math.max(1, Math.round(ttlSeconds * 1000));
    await this.options.connection.withFallback(
      async (c) => {
        await c.set(key, raw, 'PX', ttlMs);
      },
      () => {
        this.memory.set(key, raw, { ttl: ttlMs });
      },
    );
  }

  async delete(name: string): Promise<void> {
    const key = this.namespace + name;
    this.memory.delete(key);
    this.local?.delete(name);
    await this.options.connection.withFallback(
      async (c) => {
        await c.unlink(key);
      },
      () => undefined,
    );
  }

  /**
   * Read-through: returns the cached value of `name`, or runs `loader` once for all concurrent
   * callers of the same name and caches its result for `ttlSeconds` (the default TTL when omitted).
   * Loader errors are passed on and never cached. Each caller may leave through its own `signal`;
   * the loader's own signal aborts only when every caller has left, and an abandoned load is
   * forgotten at once, so a later caller starts afresh rather than joining a doomed one.
   *
   * A hit is answered before any shared flight is set up; a miss joins the flight, which looks once
   * more before loading, so a caller that missed just as another load finished does not load again.
   * The loader's AbortSignal is made only then (see core/abort-scope.ts).
   *
   * With `localSeconds` (CACHE_LOCAL_SECONDS), what it read or loaded is also kept in this process
   * for that long: a repeated lookup then needs no Redis round trip, which cost the agent about a
   * sixth of its CPU per message on a VM (waking redis-server, and this process again for the
   * answer). Each hit still parses its own copy. The price: an entry changed or deleted in Redis by
   * another process (another instance, `npm run cache:clear`) may be answered from here for up to
   * that long; {@link clearPattern} and {@link delete} in this process clear it at once.
   */
  async wrap<T>(
    name: string,
    loader: (signal: AbortSignal) => Promise<T>,
    options: { ttlSeconds?: number; signal?: StopSource } = {},
  ): Promise<{ value: T; cached: boolean }> {
    if (options.signal?.aborted) throw abortReason(options.signal);
    const hit = await this.lookup<T>(name, true);
    if (hit !== undefined) return { value: hit, cached: true };
    return this.flights.run(
      name,
      async (scope) => {
        // Counted once already, above.
        const stored = await this.lookup<T>(name, false);
        if (stored !== undefined) return { value: stored, cached: true };
        const value = await loader(scope.signal);
        if (value !== undefined) {
          const raw = JSON.stringify(value);
          const ttlSeconds = options.ttlSeconds ?? this.options.defaultTtlSeconds;
          await this.store(name, raw, ttlSeconds);
          // Never longer than the entry itself lives.
          this.local?.set(name, raw, { ttl: Math.min(this.local.ttl, Math.max(1, ttlSeconds * 1000)) });
        }
        return { value, cached: false };
      },
      options.signal,
    );
  }

  /** {@link get} through the local layer (when on), which keeps what Redis answered. */
  private async lookup<T>(name: string, count: boolean): Promise<T | undefined> {
    assertName(name);
    const local = this.local?.get(name);
    if (local !== undefined) return this.decode<T>(name, local, count);
    const stored = await this.readRaw(name);
    if (stored !== null) this.local?.set(name, stored);
    return this.decode<T>(name, stored, count);
  }

  /**
   * Deletes the cache entries whose names match the glob (`realty_us:*`; `*` empties the cache),
   * in Redis and in the memory store. Never touches rate-limit or de-duplication state or keys
   * outside this service's cache namespace.
   */
  async clearPattern(pattern: string): Promise<ClearResult> {
    assertValidPattern(pattern);
    const re = globToRegExp(pattern);
    let memoryDeleted = 0;
    if (this.local) for (const name of [...this.local.keys()]) if (re.test(name)) this.local.delete(name);
    for (const key of [...this.memory.keys()]) {
      if (re.test(key.slice(this.namespace.length))) {
        this.memory.delete(key);
        memoryDeleted++;
      }
    }
    let redisReachable = true;
    const redisDeleted = await this.options.connection.withFallback(
      (c) => scanUnlink(c, this.namespace + pattern),
      () => {
        redisReachable = false;
        return 0;
      },
    );
    return { redisDeleted, memoryDeleted, redisReachable };
  }
}

function assertName(name: string): void {
  if (!NAME.test(name)) throw new RangeError(`cache entry name "${name.slice(0, 40)}" must be <source>:<id>`);
}

/** The standalone `cache_clear_pattern` of the runbook (scripts, REPL); see clear-pattern.ts. */
export { type CacheClearOutcome, cacheClearPattern } from './clear-pattern.js';
