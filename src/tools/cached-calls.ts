import type { Cache } from '../cache/cache.js';
import { SharedFlight } from '../upstream/shared-flight.js';

/**
 * Read-through caching with single flight for tool back-ends: a hit is served from the {@link Cache}
 * (Redis, or memory when degraded); a miss runs `load` once for all concurrent callers of the
 * same entry and stores its result; a failure is passed on and never stored. Each caller can leave
 * through its own AbortSignal; `load`'s signal aborts only when every caller has left.
 *
 * Why not `Cache.wrap`: its in-flight map outlives an aborted loader, so a caller arriving just
 * after all earlier callers gave up would join the doomed promise and fail with their abort
 * reason. {@link SharedFlight} forgets an abandoned flight at once, so that caller starts afresh.
 */
export class CachedCalls {
  private readonly flight = new SharedFlight();

  constructor(
    private readonly cache: Cache,
    private readonly ttlSeconds: number,
  ) {
    if (!(ttlSeconds > 0)) throw new RangeError('cache TTL must be > 0 seconds');
  }

  /** Loads in flight right now. */
  get inflight(): number {
    return this.flight.size;
  }

  /** The cached value of `name` (`<source>:<hash>` from `cacheKey`), or `load`'s, cached for the TTL. */
  run<T>(
    name: string,
    load: (signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<{ value: T; cached: boolean }> {
    return this.flight.run(
      name,
      async (own) => {
        const hit = await this.cache.get<T>(name);
        if (hit !== undefined) return { value: hit, cached: true };
        const value = await load(own);
        await this.cache.set(name, value, this.ttlSeconds);
        return { value, cached: false };
      },
      signal,
    );
  }
}
