import { ERROR_TYPES, type ErrorType } from '../core/errors.js';

/** Upper bounds (seconds) of the latency buckets: geometric, 0.5 ms to about 10 minutes. */
const BOUNDS: readonly number[] = (() => {
  const out: number[] = [];
  for (let b = 0.0005; b < 600; b *= 1.25) out.push(b);
  out.push(Number.POSITIVE_INFINITY);
  return out;
})();

interface Bucket {
  second: number;
  requests: number;
  errors: number;
  rateLimited: number;
  cacheHits: number;
  cacheMisses: number;
  durationSum: number;
  errorsByType: Record<ErrorType, number>;
  histogram: Uint32Array;
}

function emptyErrors(): Record<ErrorType, number> {
  return Object.fromEntries(ERROR_TYPES.map((t) => [t, 0])) as Record<ErrorType, number>;
}

function bucketIndex(seconds: number): number {
  let lo = 0;
  let hi = BOUNDS.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (seconds <= (BOUNDS[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Totals over the window. */
export interface WindowSnapshot {
  readonly windowSeconds: number;
  readonly requests: number;
  readonly errors: number;
  readonly rateLimited: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly durationSum: number;
  readonly errorsByType: Record<ErrorType, number>;
  /** Latency percentiles in seconds (0 when there were no requests). */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

/**
 * Request statistics over the last `windowSeconds`, in one bucket per second.
 * Memory is fixed (window x ~70 counters) whatever the traffic; percentiles come from a
 * geometric histogram, accurate to within one bucket (25%).
 */
export class SlidingWindow {
  readonly windowSeconds: number;
  private readonly buckets: Bucket[];
  private readonly now: () => number;

  constructor(windowSeconds: number, now: () => number = Date.now) {
    this.windowSeconds = windowSeconds;
    this.now = now;
    this.buckets = Array.from({ length: windowSeconds }, () => ({
      second: -1,
      requests: 0,
      errors: 0,
      rateLimited: 0,
      cacheHits: 0,
      cacheMisses: 0,
      durationSum: 0,
      errorsByType: emptyErrors(),
      histogram: new Uint32Array(BOUNDS.length),
    }));
  }

  private current(): Bucket {
    const second = Math.floor(this.now() / 1000);
    const b = this.buckets[second % this.windowSeconds] as Bucket;
    if (b.second !== second) {
      b.second = second;
      b.requests = b.errors = b.rateLimited = b.cacheHits = b.cacheMisses = b.durationSum = 0;
      for (const t of ERROR_TYPES) b.errorsByType[t] = 0;
      b.histogram.fill(0);
    }
    return b;
  }

  /** One finished request: its duration and, when it failed, the error type. */
  recordRequest(durationSeconds: number, errorType?: ErrorType): void {
    const b = this.current();
    b.requests++;
    b.durationSum += durationSeconds;
    (b.histogram[bucketIndex(durationSeconds)] as number)++;
    if (errorType) {
      b.errors++;
      b.errorsByType[errorType]++;
      if (errorType === 'rate_limit') b.rateLimited++;
    }
  }

  /** An error event that did not fail a request (a Redis command a fallback absorbed). */
  recordErrorEvent(type: ErrorType): void {
    this.current().errorsByType[type]++;
  }

  recordCache(hit: boolean): void {
    const b = this.current();
    if (hit) b.cacheHits++;
    else b.cacheMisses++;
  }

  snapshot(): WindowSnapshot {
    const nowSecond = Math.floor(this.now() / 1000);
    const oldest = nowSecond - this.windowSeconds + 1;
    const errorsByType = emptyErrors();
    const histogram = new Float64Array(BOUNDS.length);
    let requests = 0;
    let errors = 0;
    let rateLimited = 0;
    let cacheHits = 0;
    let cacheMisses = 0;
    let durationSum = 0;
    for (const b of this.buckets) {
      if (b.second < oldest || b.second > nowSecond) continue;
      requests += b.requests;
      errors += b.errors;
      rateLimited += b.rateLimited;
      cacheHits += b.cacheHits;
      cacheMisses += b.cacheMisses;
      durationSum += b.durationSum;
      for (const t of ERROR_TYPES) errorsByType[t] += b.errorsByType[t];
      for (let i = 0; i < histogram.length; i++)
        histogram[i] = (histogram[i] as number) + (b.histogram[i] as number);
    }
    const percentile = (q: number): number => {
      if (requests === 0) return 0;
      const rank = Math.ceil(q * requests);
      let seen = 0;
      for (let i = 0; i < histogram.length; i++) {
        seen += histogram[i] as number;
        if (seen >= rank)
          return Number.isFinite(BOUNDS[i]) ? (BOUNDS[i] as number) : (BOUNDS[i - 1] as number);
      }
      return BOUNDS[BOUNDS.length - 2] as number;
    };
    return {
      windowSeconds: this.windowSeconds,
      requests,
      errors,
      rateLimited,
      cacheHits,
      cacheMisses,
      durationSum,
      errorsByType,
      p50: percentile(0.5),
      p90: percentile(0.9),
      p99: percentile(0.99),
    };
  }
}
