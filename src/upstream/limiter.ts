import Bottleneck from 'bottleneck';
import { abortReason, raceSignal } from '../core/abort.js';
import { AppError, OverloadedError } from '../core/errors.js';
import type { Logger } from '../logging/logger.js';
import type { RedisConnection } from '../redis/connection.js';
import { SharedReservoir } from './reservoir.js';

/** Limits of one upstream (from configuration: `<UPSTREAM>_MAX_CONCURRENT`, `_RESERVOIR`, ...). */
export interface LimitSettings {
  /** Calls in flight at once, per instance. */
  readonly maxConcurrent: number;
  /** Calls allowed per `reservoirIntervalMs` across all instances (through Redis); 0 = no budget. */
  readonly reservoir: number;
  readonly reservoirIntervalMs: number;
  /** Calls allowed to wait for a free slot, per instance; one more is shed with {@link OverloadedError}. */
  readonly queueLimit: number;
}

/** Options of {@link UpstreamLimiter}. */
export interface UpstreamLimiterOptions {
  /** Upstream name: Redis key part and label in errors. */
  readonly name: string;
  readonly settings: LimitSettings;
  /** Shares the reservoir between instances; without it the reservoir is per instance. */
  readonly connection?: RedisConnection;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** Per-call options of {@link UpstreamLimiter.run}. */
export interface LimitOptions {
  /** Leaving the queue (or the reservoir wait) at once when it aborts. */
  readonly signal?: AbortSignal;
  /** Epoch ms: a reservoir wait ending later is refused with {@link OverloadedError}. */
  readonly deadline?: number;
}

/**
 * Throttles one upstream: bottleneck (in-process) bounds concurrency and keeps a bounded queue; a
 * {@link SharedReservoir} holds the per-interval request budget shared across instances through Redis.
 * A call beyond `maxConcurrent + queueLimit` is shed at once with {@link OverloadedError} (503 with
 * Retry-After) instead of letting the queue grow. A caller whose signal aborts leaves immediately;
 * its queued job, when reached, ends without running.
 */
export class UpstreamLimiter {
  readonly name: string;
  readonly settings: LimitSettings;
  readonly reservoir: SharedReservoir;
  private readonly bottleneck: Bottleneck;
  private waiting = 0;
  private active = 0;
  private stopped = false;

  constructor(options: UpstreamLimiterOptions) {
    const s = options.settings;
    if (!Number.isInteger(s.maxConcurrent) || s.maxConcurrent < 1)
      throw new RangeError(`limiter ${options.name}: maxConcurrent must be a whole number >= 1`);
    if (!Number.isInteger(s.queueLimit) || s.queueLimit < 0)
      throw new RangeError(`limiter ${options.name}: queueLimit must be a whole number >= 0`);
    this.name = options.name;
    this.settings = s;
    this.reservoir = new SharedReservoir({
      name: options.name,
      limit: s.reservoir,
      intervalMs: s.reservoirIntervalMs,
      connection: options.connection,
      now: options.now,
    });
    this.bottleneck = new Bottleneck({
      maxConcurrent: s.maxConcurrent,
      // A backstop: the counters below shed first, precisely.
      highWater: s.maxConcurrent + s.queueLimit,
      strategy: Bottleneck.strategy.OVERFLOW,
    });
    const log = options.logger?.child({ component: 'upstream-limiter', upstream: options.name });
    this.bottleneck.on('error', (err: unknown) =>
      log?.warn({ err: { message: (err as Error)?.message } }, 'limiter error'),
    );
  }

  /** Calls running now (holding a slot). */
  get running(): number {
    return this.active;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.waiting;
  }

  /** The Retry-After offered when shedding: one reservoir interval within [1 s, 10 s], or a second. */
  get retryAfterMs(): number {
    if (!this.reservoir.enabled) return 1000;
    return Math.min(10_000, Math.max(1000, this.settings.reservoirIntervalMs));
  }

  /**
   * Runs `task` when a slot and a reservoir permit are free. Throws {@link OverloadedError} when the
   * queue is full or the next permit comes after the deadline, the signal's reason when it aborts,
   * and `shutting_down` after {@link stop}.
   */
  async run<T>(task: () => Promise<T>, options: LimitOptions = {}): Promise<T> {
    const { signal } = options;
    if (signal?.aborted) throw abortReason(signal);
    if (this.stopped) throw new AppError('shutting_down');
    if (this.waiting + this.active >= this.settings.maxConcurrent + this.settings.queueLimit)
      throw new OverloadedError(this.retryAfterMs, `${this.name}: too many requests waiting; retry later`);
    this.waiting++;
    let started = false;
    const job = this.bottleneck
      .schedule(async () => {
        started = true;
        this.waiting--;
        this.active++;
        try {
          if (signal?.aborted) throw abortReason(signal);
          await this.reservoir.take(options);
          return await task();
        } finally {
          this.active--;
        }
      })
      .catch((err: unknown) => {
        if (!started) this.waiting--;
        if (err instanceof Bottleneck.BottleneckError) {
          if (this.stopped) throw new AppError('shutting_down');
          throw new OverloadedError(
            this.retryAfterMs,
            `${this.name}: too many requests waiting; retry later`,
          );
        }
        throw err;
      });
    return raceSignal(job, signal);
  }

  /** Refuses new calls and drops waiting ones (they fail with `shutting_down`); running calls finish. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.bottleneck.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }
}
