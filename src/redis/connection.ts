import { Redis } from 'ioredis';
import type { Logger } from '../logging/logger.js';

/** Where state lives right now: Redis, or the bounded in-memory stores (degraded mode). */
export type StoreMode = 'redis' | 'memory';

/** Options for {@link RedisConnection}. */
export interface RedisConnectionOptions {
  readonly url: string;
  /** Prefix of every key this service writes, so it never touches another application's keys. */
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  /** Called once per failed Redis command that a memory fallback absorbed. */
  readonly onCommandError?: (err: unknown) => void;
  /** Called on every switch between Redis and memory mode. */
  readonly onModeChange?: (mode: StoreMode) => void;
  /** Longest wait between reconnection attempts. */
  readonly maxReconnectDelayMs?: number;
}

const TIMEOUTS_BEFORE_RECONNECT = 3;

/**
 * The one owner of the Redis connection. It knows whether Redis is reachable, makes commands
 * fail fast when it is not (no offline queue, a command timeout), reconnects forever in the
 * background, and logs each switch between Redis and memory mode once.
 */
export class RedisConnection {
  readonly client: Redis;
  readonly keyPrefix: string;
  private readonly logger: Logger;
  private readonly options: RedisConnectionOptions;
  private currentMode: StoreMode = 'memory';
  private announced = false;
  private closed = false;
  private consecutiveTimeouts = 0;
  private corked = false;

  constructor(options: RedisConnectionOptions) {
    this.options = options;
    this.keyPrefix = options.keyPrefix;
    this.logger = options.logger.child({ component: 'redis' });
    const maxDelay = options.maxReconnectDelayMs ?? 1000;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: true,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: options.connectTimeoutMs,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 10), maxDelay),
      reconnectOnError: () => false,
    });
    this.client.on('ready', () => this.setMode('redis'));
    this.client.on('close', () => this.setMode('memory'));
    this.client.on('end', () => this.setMode('memory'));
    // Connection errors are expected while Redis is down: the mode switch is the signal; keep detail at debug.
    this.client.on('error', (err: Error) =>
      this.logger.debug({ err: { message: err.message } }, 'redis client error'),
    );
  }

  /** Starts connecting in the background; never throws when Redis is unreachable. */
  start(): void {
    this.client.connect().catch((err: Error) => {
      // A close() while still connecting also rejects here: that is a shutdown, not an outage.
      if (!this.announced && !this.closed) this.announceMemoryMode(err);
    });
  }

  /** Current mode: `redis` when commands can be sent, `memory` otherwise. */
  get mode(): StoreMode {
    return this.currentMode;
  }

  /** True when Redis is reachable and ready for commands. */
  get connected(): boolean {
    return this.currentMode === 'redis' && this.client.status === 'ready';
  }

  /** A key in this service's namespace: `<prefix><parts joined by ':'>`. */
  key(...parts: string[]): string {
    return this.keyPrefix + parts.join(':');
  }

  /**
   * Runs `op` against Redis when it is reachable, else (or when the command fails) `fallback`.
   * This is the single mechanism behind degraded mode for cache, rate limits and de-duplication.
   * A plain promise chain rather than an async function: it runs several times per message.
   */
  withFallback<T>(op: (client: Redis) => Promise<T>, fallback: () => T | Promise<T>): Promise<T> {
    if (!this.connected) return settle(fallback);
    let pending: Promise<T>;
    try {
      this.coalesceWrites();
      pending = op(this.client);
    } catch (err) {
      return settle(() => this.recover(err, fallback));
    }
    return pending.then(this.answered, (err: unknown) => this.recover(err, fallback));
  }

  /** A command answered: the run of timeouts (if any) is over. */
  private readonly answered = <T>(result: T): T => {
    this.consecutiveTimeouts = 0;
    return result;
  };

  /** A command failed: whatever went wrong, the caller still gets an answer; degraded beats failed. */
  private recover<T>(err: unknown, fallback: () => T | Promise<T>): T | Promise<T> {
    this.options.onCommandError?.(err);
    this.noteTimeout(err);
    const level = isRedisFailure(err) ? 'debug' : 'warn';
    this.logger[level]({ err: { message: (err as Error)?.message } }, 'redis command failed; using memory');
    return fallback();
  }

  /**
   * Holds this turn's commands in the socket and writes them all at once when the turn ends
   * (cork now, uncork in setImmediate): every request handled in one event-loop turn shares one
   * write system call instead of paying one per command, which was the hot path's largest cost.
   */
  private coalesceWrites(): void {
    if (this.corked) return;
    const stream = this.client.stream;
    if (!stream || stream.destroyed) return;
    this.corked = true;
    stream.cork();
    setImmediate(() => {
      this.corked = false;
      stream.uncork();
    });
  }

  /**
   * A Redis that accepts connections but stops answering (paused, swapping, overloaded) would
   * cost every request a command timeout. After a few timeouts in a row, drop the connection:
   * memory mode starts at once and the background reconnect brings Redis back when it answers.
   */
  private noteTimeout(err: unknown): void {
    if (!(err instanceof Error) || !err.message.includes('Command timed out')) return;
    this.consecutiveTimeouts++;
    if (this.consecutiveTimeouts < TIMEOUTS_BEFORE_RECONNECT || this.closed) return;
    this.consecutiveTimeouts = 0;
    this.logger.warn({ redis: { mode: 'memory' } }, 'redis stopped answering: reconnecting');
    // A frozen peer never completes the close, so switch now rather than on the 'close' event;
    // the next 'ready' switches back.
    this.setMode('memory');
    this.client.disconnect(true);
  }

  /** Waits until Redis is ready or `timeoutMs` passes; true when ready. */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.connected) return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(this.connected), timeoutMs);
      this.client.on('ready', onReady);
    });
  }

  /** Closes the connection: QUIT within a bound, then a hard disconnect. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.client.quit().catch(() => undefined),
        new Promise((r) => {
          timer = setTimeout(r, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    if (this.client.status !== 'end') {
      // Only a live socket ends with an 'end' event; a client waiting to reconnect just stops.
      const live = ['connecting', 'connect', 'ready'].includes(this.client.status);
      const ended = new Promise<void>((resolve) => this.client.once('end', () => resolve()));
      this.client.disconnect(false);
      if (!live || (this.client.status as string) === 'end') return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
  }

  private announceMemoryMode(err?: Error): void {
    this.announced = true;
    this.logger.warn(
      { redis: { mode: 'memory' }, reason: err?.message },
      'redis unreachable: serving from bounded memory stores (degraded mode); reconnecting in the background',
    );
  }

  private setMode(mode: StoreMode): void {
    if (mode === this.currentMode) return;
    this.currentMode = mode;
    if (mode === 'redis') {
      this.announced = true;
      this.logger.info(
        { redis: { mode } },
        'redis connected: cache, rate limits and de-duplication use redis',
      );
    } else if (!this.closed) {
      this.announceMemoryMode();
    }
    this.options.onModeChange?.(mode);
  }
}

/** The promise of `f()`: its value, or its synchronous throw as a rejection. */
function settle<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err);
  }
}

/** True for errors that mean "Redis is not answering", as opposed to a bug in our command. */
export function isRedisFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const m = err.message;
  return (
    m.includes('Command timed out') ||
    m.includes('Connection is closed') ||
    m.includes("Stream isn't writeable") ||
    m.includes('enableOfflineQueue') ||
    m.includes('ECONNREFUSED') ||
    m.includes('ECONNRESET') ||
    m.includes('EPIPE') ||
    m.includes('LOADING') ||
    m.includes('MaxRetriesPerRequest') ||
    m.includes('Reached the max retries') ||
    m.includes('READONLY') ||
    m.includes('OOM') ||
    (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' ||
    err.name === 'MaxRetriesPerRequestError'
  );
}
