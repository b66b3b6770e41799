import { createHash, hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RedisConnection } from '../redis/connection.js';

/** One exchange of a conversation. */
export interface Turn {
  readonly user: string;
  readonly assistant: string;
  /** Epoch ms. */
  readonly at: number;
}

/** Options of {@link ConversationStore}. */
export interface ConversationStoreOptions {
  readonly connection: RedisConnection;
  /** How long a conversation is kept after its last turn (`CONVERSATION_TTL_SECONDS`). */
  readonly ttlSeconds: number;
  /** Approximate tokens of earlier turns returned for the prompt (`CONVERSATION_MAX_TOKENS`). */
  readonly maxTokens: number;
  /** Conversations kept in memory while Redis is unreachable (least recently used go first). */
  readonly memoryMaxEntries: number;
  /** Turns stored per conversation. Default 40. */
  readonly maxTurns?: number;
  /** Longest stored text of one side of a turn, in characters. Default 4000. */
  readonly maxTurnChars?: number;
}

/** Approximate tokens of a text: characters / 4, plus a little per message. */
export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4) + 4;
}

/**
 * Appends a turn (ARGV[1]), keeps the newest ARGV[2] turns, renews the conversation's expiry
 * (ARGV[3] ms) and indexes it under the user (KEYS[2]) for "forget me": one command and one
 * round trip per message instead of a seven-command MULTI. A turn whose message started (ARGV[4],
 * epoch ms) before the user's last "forget me" (KEYS[3]) is dropped: forgotten stays forgotten.
 */
const APPEND_SCRIPT = `
local erased = redis.call('GET', KEYS[3])
if erased and tonumber(erased) >= tonumber(ARGV[4]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;
const APPEND_SHA = createHash('sha1').update(APPEND_SCRIPT).digest('hex');

/** A long, non-reversible id part for Redis keys (user ids and conversation ids may hold anything). */
function digest(value: string): string {
  return hash('sha256', value, 'hex').slice(0, 32);
}

function parseTurn(raw: string): Turn | undefined {
  try {
    const t = JSON.parse(raw) as Partial<Turn>;
    return typeof t.user === 'string' && typeof t.assistant === 'string' && typeof t.at === 'number'
      ? (t as Turn)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A conversation's recent turns, keyed by user AND conversation (`<prefix>conv:<user>:<conv>`, both
 * hashed), so knowing another user's conversation id reads nothing. A Redis list per conversation
 * (RPUSH, LTRIM, PEXPIRE in one script) plus a per-user index set for "forget me"; a bounded LRU in
 * memory while Redis is unreachable. Reads return the newest turns within the token budget.
 */
export class ConversationStore {
  private readonly o: Required<ConversationStoreOptions>;
  private readonly memory: LRUCache<string, Turn[]>;
  /** When each user last asked to be forgotten, for turns that were in flight (see append). */
  private readonly erasedAt: LRUCache<string, number>;

  constructor(options: ConversationStoreOptions) {
    this.o = { maxTurns: 40, maxTurnChars: 4000, ...options };
    if (!(this.o.ttlSeconds > 0)) throw new RangeError('ttlSeconds must be > 0');
    if (!(this.o.maxTokens >= 0)) throw new RangeError('maxTokens must be >= 0');
    this.memory = new LRUCache({ max: this.o.memoryMaxEntries, ttl: this.o.ttlSeconds * 1000 });
    this.erasedAt = new LRUCache({ max: this.o.memoryMaxEntries, ttl: this.o.ttlSeconds * 1000 });
  }

  private keys(userId: string, conversationId?: string) {
    const user = digest(userId);
    return {
      conversation:
        conversationId === undefined ? '' : this.o.connection.key('conv', user, digest(conversationId)),
      index: this.o.connection.key('convs', user),
      erased: this.o.connection.key('convs-erased', user),
      memoryPrefix: this.o.connection.key('conv', user, ''),
    };
  }

  /** The conversation's newest turns, oldest first, within `maxTokens`. */
  async recent(userId: string, conversationId: string): Promise<Turn[]> {
    if (this.o.maxTokens === 0) return [];
    const { conversation } = this.keys(userId, conversationId);
    const all = await this.o.connection.withFallback(
      async (c) =>
        (await c.lrange(conversation, 0, -1)).map(parseTurn).filter((t): t is Turn => t !== undefined),
      () => this.memory.get(conversation) ?? [],
    );
    const kept: Turn[] = [];
    let tokens = 0;
    for (let i = all.length - 1; i >= 0; i--) {
      const t = all[i] as Turn;
      tokens += approxTokens(t.user) + approxTokens(t.assistant);
      if (tokens > this.o.maxTokens) break;
      kept.push(t);
    }
    return kept.reverse();
  }

  /**
   * True when the user asked to be forgotten at or after `startedAt` (epoch ms), here or (when
   * Redis is reachable) on another instance: work begun before must not bring anything back.
   */
  async erasedSince(userId: string, startedAt: number): Promise<boolean> {
    const here = this.erasedAt.get(userId);
    if (here !== undefined && here >= startedAt) return true;
    const { erased } = this.keys(userId);
    const there = await this.o.connection.withFallback(
      (c) => c.get(erased),
      () => null,
    );
    return there !== null && Number(there) >= startedAt;
  }

  /**
   * Adds a turn and renews the conversation's expiry. `startedAt` (epoch ms) is when its message
   * began: a turn of a message that was running when the user asked to be forgotten is dropped.
   */
  async append(userId: string, conversationId: string, turn: Turn, startedAt = turn.at): Promise<void> {
    const { conversation, index, erased } = this.keys(userId, conversationId);
    const since = this.erasedAt.get(userId);
    if (since !== undefined && since >= startedAt) return;
    const stored: Turn = {
      user: turn.user.slice(0, this.o.maxTurnChars),
      assistant: turn.assistant.slice(0, this.o.maxTurnChars),
      at: turn.at,
    };
    const ttlMs = this.o.ttlSeconds * 1000;
    await this.o.connection.withFallback(
      async (c) => {
        const args = [
          3,
          conversation,
          index,
          erased,
          JSON.stringify(stored),
          this.o.maxTurns,
          ttlMs,
          startedAt,
        ] as const;
        try {
          await c.evalsha(APPEND_SHA, ...args);
        } catch (err) {
          if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
          await c.eval(APPEND_SCRIPT, ...args);
        }
      },
      () => {
        const turns = [...(this.memory.get(conversation) ?? []), stored].slice(-this.o.maxTurns);
        this.memory.set(conversation, turns);
      },
    );
  }

  /**
   * Deletes every conversation of the user, in Redis and in memory. `redisReachable` is false when
   * Redis could not be reached (its copies then expire with their TTL).
   */
  async eraseUser(userId: string): Promise<{ deleted: number; redisReachable: boolean }> {
    const { index, erased, memoryPrefix } = this.keys(userId);
    const now = Date.now();
    this.erasedAt.set(userId, now);
    let inMemory = 0;
    for (const key of [...this.memory.keys()]) {
      if (key.startsWith(memoryPrefix)) {
        this.memory.delete(key);
        inMemory++;
      }
    }
    let redisReachable = true;
    const inRedis = await this.o.connection.withFallback(
      async (c) => {
        // The marker first: a turn in flight on another instance checks it when it is appended.
        await c.set(erased, String(now), 'PX', this.o.ttlSeconds * 1000);
        const members = await c.smembers(index);
        const n = members.length > 0 ? await c.unlink(...members) : 0;
        await c.unlink(index);
        return n;
      },
      () => {
        redisReachable = false;
        return 0;
      },
    );
    return { deleted: Math.max(inMemory, inRedis), redisReachable };
  }
}
