import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { remainingMs, sleep } from '../core/abort.js';
import { OverloadedError } from '../core/errors.js';
import type { RedisConnection } from '../redis/connection.js';

/** Options of {@link SharedReservoir}. */
export interface ReservoirOptions {
  /** Upstream name; the Redis key is `<prefix>upstream:<name>:reservoir`. */
  readonly name: string;
  /** Permits per interval; 0 disables the budget. */
  readonly limit: number;
  readonly intervalMs: number;
  /** Without a connection the budget is per instance (memory only). */
  readonly connection?: RedisConnection;
  readonly now?: () => number;
}

/** Result of one attempt to take a permit. */
export interface ReservoirTake {
  readonly granted: boolean;
  /** When not granted: how long until a permit frees up. */
  readonly waitMs: number;
}

const SCRIPT = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - interval)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, interval)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + interval - now}
`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

/**
 * A request budget shared by every instance of the service: at most `limit` permits in any
 * window of `intervalMs` (a sliding log, exact at window edges, unlike a fixed-window counter that
 * lets 2x through around a boundary; Nominatim's "one request per second" needs the exact form).
 *
 * Why not bottleneck's own Redis clustering (`datastore: 'ioredis'`)? Tried with ioredis 6 and
 * Redis 7 here: it does share a reservoir between processes, but (1) with Redis down at start its
 * `ready()` never resolves and scheduled jobs wait forever; (2) when Redis goes away its scripts
 * fail and every job is rejected, with no memory fallback (the service's degraded mode); (3) it
 * duplicates the client for pub/sub, which inherits our `lazyConnect` and never connects; (4) a job
 * waiting for the reservoir is looked at again only on the heartbeat (5 s by default). So bottleneck
 * runs in-process (concurrency, bounded queue) and this class holds the shared budget, through
 * `RedisConnection.withFallback`: a Lua script using Redis's clock, or a per-instance log in memory
 * while Redis is unreachable.
 */
export class SharedReservoir {
  readonly name: string;
  readonly limit: number;
  readonly intervalMs: number;
  private readonly connection: RedisConnection | undefined;
  private readonly now: () => number;
  private readonly local: number[] = [];

  constructor(options: ReservoirOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 0)
      throw new RangeError(`reservoir ${options.name}: limit must be a whole number >= 0`);
    if (!(options.intervalMs > 0)) throw new RangeError(`reservoir ${options.name}: intervalMs must be > 0`);
    this.name = options.name;
    this.limit = options.limit;
    this.intervalMs = options.intervalMs;
    this.connection = options.connection;
    this.now = options.now ?? Date.now;
  }

  /** False when the budget is disabled (limit 0). */
  get enabled(): boolean {
    return this.limit > 0;
  }

  /** Takes a permit if one is free now; never waits. */
  async tryTake(): Promise<ReservoirTake> {
    if (!this.enabled) return { granted: true, waitMs: 0 };
    const connection = this.connection;
    if (!connection) return this.takeLocal();
    const key = connection.key('upstream', this.name, 'reservoir');
    return connection.withFallback(
      (client) => this.takeRedis(client, key),
      () => this.takeLocal(),
    );
  }

  /**
   * Waits for a permit. Throws {@link OverloadedError} (with the wait as Retry-After) when the next
   * permit comes after `deadline`, and the signal's reason when it aborts.
   */
  async take(options: { signal?: AbortSignal; deadline?: number } = {}): Promise<void> {
    for (;;) {
      const got = await this.tryTake();
      if (got.granted) return;
      // A little spread so that waiters on several instances do not wake on the same millisecond.
      const waitMs = Math.max(1, got.waitMs) + Math.floor(Math.random() * 10);
      if (waitMs >= remainingMs(options.deadline, this.now()))
        throw new OverloadedError(waitMs, `${this.name}: outbound request budget spent; retry later`);
      await sleep(waitMs, options.signal);
    }
  }

  private async takeRedis(client: Redis, key: string): Promise<ReservoirTake> {
    const args = [1, key, this.limit, this.intervalMs, randomUUID()] as const;
    let reply: unknown;
    try {
      reply = await client.evalsha(SHA, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
      reply = await client.eval(SCRIPT, ...args);
    }
    const [granted, wait] = reply as [number, number];
    return { granted: granted === 1, waitMs: Math.max(0, Number(wait)) };
  }

  private takeLocal(): ReservoirTake {
    const now = this.now();
    while (this.local.length > 0 && (this.local[0] as number) <= now - this.intervalMs) this.local.shift();
    if (this.local.length < this.limit) {
      this.local.push(now);
      return { granted: true, waitMs: 0 };
    }
    return { granted: false, waitMs: Math.max(0, (this.local[0] as number) + this.intervalMs - now) };
  }
}
