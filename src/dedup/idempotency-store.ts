import { LRUCache } from 'lru-cache';
import type { RedisConnection } from '../redis/connection.js';

/** What a claim found. */
export type ClaimResult<T> =
  | { readonly status: 'claimed' }
  | { readonly status: 'in_progress'; readonly fingerprint: string }
  | { readonly status: 'done'; readonly fingerprint: string; readonly result: T };

const CLAIMED = { status: 'claimed' } as const;

interface StoredRecord<T> {
  readonly state: 'pending' | 'done';
  readonly fp: string;
  readonly result?: T;
}

/**
 * De-duplication and idempotency records: the first caller of a key claims it, later callers
 * learn that it is in progress or get the stored result. Atomic in Redis (`SET NX`) so retries
 * that land on another instance are recognised, and in a bounded memory store when degraded.
 */
export class IdempotencyStore<T = unknown> {
  private readonly connection: RedisConnection;
  private readonly memory: LRUCache<string, string>;

  constructor(options: { connection: RedisConnection; memoryMaxEntries: number }) {
    this.connection = options.connection;
    this.memory = new LRUCache({ max: options.memoryMaxEntries });
  }

  private key(scope: string, id: string): string {
    return this.connection.key('dedup', scope, id);
  }

  /**
   * Claims `id` for `pendingTtlMs` (how long a crashed claimant may block retries).
   * `fingerprint` identifies the request, so a reused key with another request is detected.
   */
  claim(scope: string, id: string, fingerprint: string, pendingTtlMs: number): Promise<ClaimResult<T>> {
    const key = this.key(scope, id);
    const pending = JSON.stringify({ state: 'pending', fp: fingerprint } satisfies StoredRecord<T>);
    return this.connection
      .withFallback(
        (c) => c.set(key, pending, 'PX', pendingTtlMs, 'NX').then((ok) => (ok === 'OK' ? null : c.get(key))),
        () => {
          const found = this.memory.get(key);
          if (found !== undefined) return found;
          this.memory.set(key, pending, { ttl: pendingTtlMs });
          return null;
        },
      )
      .then(claimResultOf<T>);
  }

  /** Reads a record without claiming it. */
  async peek(scope: string, id: string): Promise<ClaimResult<T> | undefined> {
    const key = this.key(scope, id);
    const raw = await this.connection.withFallback(
      (c) => c.get(key),
      () => this.memory.get(key) ?? null,
    );
    if (raw === null) return undefined;
    try {
      const record = JSON.parse(raw) as StoredRecord<T>;
      return record.state === 'done'
        ? { status: 'done', fingerprint: record.fp, result: record.result as T }
        : { status: 'in_progress', fingerprint: record.fp };
    } catch {
      return undefined;
    }
  }

  /** Stores the result of a claimed id for `ttlMs`. */
  complete(scope: string, id: string, fingerprint: string, result: T, ttlMs: number): Promise<void> {
    const key = this.key(scope, id);
    const raw = JSON.stringify({ state: 'done', fp: fingerprint, result } satisfies StoredRecord<T>);
    return this.connection.withFallback(
      (c) =>
        c.set(key, raw, 'PX', ttlMs).then(() => {
          this.memory.delete(key); // a pending claim made while Redis was down
        }),
      () => {
        this.memory.set(key, raw, { ttl: ttlMs });
      },
    );
  }

  /** Gives a claim up (the work failed), so a retry may run it again. */
  async release(scope: string, id: string): Promise<void> {
    const key = this.key(scope, id);
    this.memory.delete(key);
    await this.connection.withFallback(
      async (c) => {
        await c.del(key);
      },
      () => undefined,
    );
  }
}

/** What a claim found, from the record already stored under its key (null: none, the claim is ours). */
function claimResultOf<T>(existing: string | null): ClaimResult<T> {
  if (existing === null) return CLAIMED;
  let record: StoredRecord<T>;
  try {
    record = JSON.parse(existing) as StoredRecord<T>;
  } catch {
    return { status: 'in_progress', fingerprint: '' };
  }
  if (record.state === 'done') return { status: 'done', fingerprint: record.fp, result: record.result as T };
  return { status: 'in_progress', fingerprint: record.fp };
}
