import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../core/errors.js';
import type { RedisConnection } from '../redis/connection.js';

/**
 * Serialisation of updates to one record (a user's memory): a {@link KeyedMutex} inside the
 * process and a {@link RedisLock} across instances while Redis is reachable.
 */

/** Runs tasks one at a time per key, in call order; tasks of different keys run concurrently. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` once every earlier task of `key` has settled. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a task running or waiting (for tests and diagnostics). */
  get size(): number {
    return this.tails.size;
  }
}

/** A lock taken by {@link RedisLock.acquire}. */
export interface HeldLock {
  /** True when Redis holds it (other instances are excluded); false in degraded (memory) mode. */
  readonly distributed: boolean;
  /** Throws `data_busy` if the lock expired while held (another instance may have taken it). */
  assertHeld(): void;
  release(): Promise<void>;
}

/** Options for {@link RedisLock}. */
export interface RedisLockOptions {
  readonly connection: RedisConnection;
  /** Expiry of a lock whose holder died; renewed every third of it while held. Default 30 s. */
  readonly ttlMs?: number;
  /** Longest wait for a lock another instance holds. Default 10 s. */
  readonly waitMs?: number;
}

// Delete or extend only when the value is still our token: never release another holder's lock.
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const EXTEND =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

/**
 * A lock in Redis (`SET key token NX PX ttl`, released by a compare-and-delete script). When Redis
 * is unreachable it degrades to no cross-instance lock: callers still serialise in-process.
 */
export class RedisLock {
  private readonly ttlMs: number;
  private readonly waitMs: number;

  constructor(private readonly options: RedisLockOptions) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.waitMs = options.waitMs ?? 10_000;
    if (!(this.ttlMs >= 100)) throw new RangeError('ttlMs must be at least 100');
    if (!(this.waitMs >= 0)) throw new RangeError('waitMs must not be negative');
  }

  /** Takes the lock named `name` (under the service's key prefix), waiting up to `waitMs`. */
  async acquire(name: string): Promise<HeldLock> {
    const { connection } = this.options;
    const key = connection.key('lock', name);
    const token = randomUUID();
    const deadline = Date.now() + this.waitMs;
    let delay = 5;
    for (;;) {
      const outcome = await connection.withFallback(
        async (c) => ((await c.set(key, token, 'PX', this.ttlMs, 'NX')) === 'OK' ? 'acquired' : 'busy'),
        () => 'degraded' as const,
      );
      if (outcome === 'acquired') return this.held(key, token);
      if (outcome === 'degraded') return DEGRADED;
      if (Date.now() + delay > deadline) {
        throw new AppError('data_busy', 'another instance is updating this record; try again shortly');
      }
      await sleep(delay + Math.floor(Math.random() * delay));
      delay = Math.min(delay * 2, 100);
    }
  }

  private held(key: string, token: string): HeldLock {
    const { connection } = this.options;
    let lost = false;
    const renew = setInterval(
      () => {
        void connection
          .withFallback(
            (c) => c.eval(EXTEND, 1, key, token, String(this.ttlMs)) as Promise<number>,
            () => -1,
          )
          .then((n) => {
            if (n === 0) lost = true;
          });
      },
      Math.max(50, Math.floor(this.ttlMs / 3)),
    );
    renew.unref();
    return {
      distributed: true,
      assertHeld() {
        if (lost) throw new AppError('data_busy', 'the record lock expired during the update; try again');
      },
      async release() {
        clearInterval(renew);
        await connection.withFallback(
          (c) => c.eval(RELEASE, 1, key, token) as Promise<unknown>,
          () => undefined,
        );
      },
    };
  }
}

const DEGRADED: HeldLock = {
  distributed: false,
  assertHeld: () => undefined,
  release: async () => undefined,
};
