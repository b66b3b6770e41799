import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Cache } from '../../src/cache/cache.js';
import { type Config, configFrom } from '../../src/config/config.js';
import type { AppError, ErrorType } from '../../src/core/errors.js';
import { RedisConnection } from '../../src/redis/connection.js';
import { createUpstreams, type Upstreams } from '../../src/upstream/upstreams.js';
import { testLogger } from './logs.js';

/** A connection to the suite's Redis (or `url`) under a key prefix of its own, once ready. */
export async function testConnection(
  logger: ReturnType<typeof testLogger>['logger'],
  options: { url?: string; prefix?: string; wait?: boolean } = {},
): Promise<RedisConnection> {
  const connection = new RedisConnection({
    url: options.url ?? inject('redisUrl'),
    keyPrefix: options.prefix ?? `t-${randomUUID().slice(0, 8)}:`,
    commandTimeoutMs: 1000,
    connectTimeoutMs: 2000,
    logger,
    maxReconnectDelayMs: 100,
  });
  connection.start();
  if (options.wait !== false) await connection.waitUntilReady(5000);
  return connection;
}

/** Everything a tool back-end needs, wired like production but on a test's own Redis prefix. */
export interface ToolStack {
  readonly config: Config;
  readonly logs: ReturnType<typeof testLogger>;
  readonly connection: RedisConnection;
  readonly cache: Cache;
  readonly upstreams: Upstreams;
  /** Every error event the upstreams reported, as the metrics sink would see it. */
  readonly errors: { type: ErrorType; code: string }[];
  close(): Promise<void>;
}

/** Builds config (fast retries by default) + connection (own key prefix unless `REDIS_KEY_PREFIX`) + cache + upstreams. */
export async function toolStack(env: Record<string, string>, name = 'tools'): Promise<ToolStack> {
  const config = configFrom({
    UPSTREAM_RETRY_BASE_DELAY_MS: '10',
    UPSTREAM_RETRY_MAX_DELAY_MS: '50',
    UPSTREAM_TIMEOUT_MS: '2000',
    ...env,
  });
  const logs = testLogger(name);
  const connection = await testConnection(logs.logger, {
    prefix: config.env.REDIS_KEY_PREFIX === 'real-estate-ai:' ? undefined : config.env.REDIS_KEY_PREFIX,
  });
  const cache = new Cache({ connection, defaultTtlSeconds: 60, memoryMaxEntries: 100, logger: logs.logger });
  const errors: { type: ErrorType; code: string }[] = [];
  const upstreams = createUpstreams(config, {
    connection,
    logger: logs.logger,
    onError: (type: ErrorType, err: AppError) => errors.push({ type, code: err.code }),
  });
  return {
    config,
    logs,
    connection,
    cache,
    upstreams,
    errors,
    async close() {
      await upstreams.stop();
      await connection.close();
    },
  };
}

/** Counts of the handles that keep a process alive (timers, sockets), to check nothing leaked. */
export function activeHandles(): { timers: number; sockets: number } {
  const info = process.getActiveResourcesInfo();
  return {
    timers: info.filter((r) => r === 'Timeout').length,
    sockets: info.filter((r) => r === 'TCPSocketWrap').length,
  };
}

/** Keys matching `pattern`, found with SCAN (the project never uses KEYS). */
export async function scanKeys(client: RedisConnection['client'], pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}
