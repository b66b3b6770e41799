import { LRUCache } from 'lru-cache';
import type { RedisConnection } from '../redis/connection.js';
import type { MemoryRecord } from './data-store.js';

/** A memory as this instance last read it, with the version token Redis held for it then. */
interface MemoryCopy {
  readonly record: MemoryRecord | undefined;
  readonly token: string | null;
}

/** Copies kept (least recently used go first). */
const MAX_COPIES = 10_000;
/** How long a version token lives in Redis (refreshed by every write). */
const TOKEN_TTL_SECONDS = 7 * 86_400;
const UNKNOWN = Symbol('unknown');

/** The version of a stored memory: its revision and the time it was written. */
export function memoryToken(record: MemoryRecord): string {
  return `${record.revision}@${record.updatedAt}`;
}

/**
 * Copies of memory files, so that a message need not read its user's file (a thread-pool round
 * trip: about a fifth of the agent's CPU per message on a VM) when nothing changed.
 *
 * Instances may share DATA_DIR, so a copy is used only while Redis holds the same version token
 * for that user: every memory write publishes its token (`<prefix>memory-version:<user file>`),
 * "forget me" deletes it, and a reader GETs it in the same turn as the message's other reads
 * (one round trip for all of them; with no copy yet, the file is read meanwhile). A copy is kept
 * only when the file just read carries the token that Redis answered, so a write racing the read
 * is never cached. Without Redis (degraded mode) every read goes to the file and the copies are
 * dropped.
 *
 * What it cannot see: a memory written while Redis was unreachable to the writer, or a forced
 * restore under a running service. Copies live at most `ttlSeconds` (default 30), which bounds that.
 * Every reader gets a record of its own: a copy is never handed out to be changed.
 */
export class MemoryCopies {
  private readonly copies: LRUCache<string, MemoryCopy>;

  constructor(
    private readonly connection: RedisConnection,
    ttlSeconds = 30,
  ) {
    this.copies = new LRUCache({ max: MAX_COPIES, ttl: ttlSeconds * 1000 });
  }

  private key(name: string): string {
    return this.connection.key('memory-version', name);
  }

  /** The memory in file `name`: the copy when Redis confirms it is current, else `readFile()`. */
  async read(
    name: string,
    readFile: () => Promise<MemoryRecord | undefined>,
  ): Promise<MemoryRecord | undefined> {
    if (!this.connection.connected) {
      this.copies.clear();
      return readFile();
    }
    const key = this.key(name);
    const tokenRead = this.connection.withFallback<string | null | typeof UNKNOWN>(
      (c) => c.get(key),
      () => UNKNOWN,
    );
    const copy = this.copies.get(name);
    // With no copy the file is needed anyway: read it alongside the version, not after it.
    const fileRead = copy === undefined ? readFile() : undefined;
    fileRead?.catch(() => undefined); // awaited below; never left to reject unobserved meanwhile
    const token = await tokenRead;
    if (token === UNKNOWN) return fileRead ?? readFile();
    if (copy !== undefined && copy.token === token) return copy.record && structuredClone(copy.record);
    const record = await (fileRead ?? readFile());
    if ((record ? memoryToken(record) : null) === token) {
      this.copies.set(name, { record: record && structuredClone(record), token });
    } else this.copies.delete(name);
    return record;
  }

  /**
   * After file `name` changed: publishes the version of `record`, or (removed, or in a state not
   * known after a failed write) deletes the token, so that no copy anywhere matches it any more.
   */
  async changed(name: string, record?: MemoryRecord): Promise<void> {
    this.copies.delete(name);
    const key = this.key(name);
    await this.connection.withFallback(
      async (c) => {
        if (record) await c.set(key, memoryToken(record), 'EX', TOKEN_TTL_SECONDS);
        else await c.del(key);
      },
      () => undefined,
    );
  }
}
