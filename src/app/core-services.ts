import { setMaxListeners } from 'node:events';
import type { ChatModels } from '../agent/model-factory.js';
import { Cache } from '../cache/cache.js';
import type { Config } from '../config/config.js';
import { SECRET_VARIABLES } from '../config/env-schema.js';
import type { Agent, Reply } from '../core/message.js';
import { MessagePipeline } from '../core/pipeline.js';
import type { ManagedDataStore } from '../data/data-store.js';
import { FileDataStore } from '../data/file-data-store.js';
import { IdempotencyStore } from '../dedup/idempotency-store.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { ServiceMetrics } from '../metrics/service-metrics.js';
import { HealthReporter } from '../ops/health.js';
import { OpsService } from '../ops/ops-service.js';
import { RateLimiter } from '../rate-limit/rate-limiter.js';
import { RedisConnection } from '../redis/connection.js';
import { VERSION } from '../version.js';
import { type AgentServices, buildAgentServices } from './agent-services.js';

/** The platform-neutral services every adapter and script shares. */
export interface CoreServices {
  readonly config: Config;
  readonly logger: Logger;
  readonly connection: RedisConnection;
  readonly metrics: ServiceMetrics;
  readonly cache: Cache;
  readonly rateLimiter: RateLimiter;
  /** De-duplication of idempotent requests and platform event retries. */
  readonly idempotency: IdempotencyStore<Reply>;
  readonly agent: Agent;
  readonly pipeline: MessagePipeline;
  readonly health: HealthReporter;
  /** Aborted when shutdown's grace period ends: in-flight agent runs stop. */
  readonly shutdown: AbortController;
  /** Durable reports and per-user memories under DATA_DIR (opened, and its folder locked, by the app's start). */
  readonly data: ManagedDataStore;
  /** Backups, restore, cache clearing and status: what the chat admin commands and scripts call. */
  readonly ops: OpsService;
  /** The agent's upstreams, tool back-ends, tracing and "forget me" (closed by the app's stop). */
  readonly agentServices: AgentServices;
}

/** Replaceable parts (tests inject fakes here). */
export interface CoreOverrides {
  readonly logger?: Logger;
  readonly agent?: Agent;
  /** Chat models for the real agent instead of ChatOpenAI from `OPENAI_*` (benchmarks). */
  readonly models?: ChatModels;
  readonly metricsDefaults?: boolean;
}

/**
 * Every secret value in the configuration, for the log scrubber: each variable the schema marks
 * secret (whole values; API_KEYS as its secrets; REDIS_URL as its password, encoded and decoded).
 */
export function secretsOf(config: Config): string[] {
  const e = config.env as unknown as Record<string, unknown>;
  const out: string[] = config.apiKeys.map((k) => k.secret);
  for (const name of SECRET_VARIABLES) {
    if (name === 'API_KEYS' || name === 'REDIS_URL') continue;
    const value = e[name];
    if (typeof value === 'string') out.push(value);
  }
  const password = new URL(config.env.REDIS_URL).password;
  if (password) out.push(password, safeDecode(password));
  return [...new Set(out.filter((s) => s.length > 0))];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Builds the core from configuration: one place where its parts are wired together. */
export function buildCore(config: Config, overrides: CoreOverrides = {}): CoreServices {
  const env = config.env;
  const logger = overrides.logger ?? createLogger({ level: env.LOG_LEVEL, secrets: secretsOf(config) });
  const metrics = new ServiceMetrics({
    windowSeconds: env.METRICS_WINDOW_SECONDS,
    collectDefaults: overrides.metricsDefaults,
  });
  const connection = new RedisConnection({
    url: env.REDIS_URL,
    keyPrefix: env.REDIS_KEY_PREFIX,
    commandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeoutMs: env.REDIS_CONNECT_TIMEOUT_MS,
    logger,
    onCommandError: () => metrics.recordErrorEvent('redis'),
    onModeChange: (mode) => metrics.setRedisMode(mode),
  });
  const cache = new Cache({
    connection,
    defaultTtlSeconds: env.CACHE_TTL_SECONDS,
    memoryMaxEntries: env.CACHE_MEMORY_MAX_ENTRIES,
    localSeconds: env.CACHE_LOCAL_SECONDS,
    logger,
    onLookup: (source, hit) => metrics.recordCache(source, hit),
  });
  const rateLimiter = new RateLimiter({
    connection,
    rules: config.rateLimits,
    memoryMaxEntries: env.MEMORY_STORE_MAX_ENTRIES,
  });
  const idempotency = new IdempotencyStore<Reply>({
    connection,
    memoryMaxEntries: env.MEMORY_STORE_MAX_ENTRIES,
  });
  const data = new FileDataStore({ dataDir: env.DATA_DIR, logger, connection, version: VERSION });
  const agentServices = buildAgentServices(config, {
    connection,
    cache,
    metrics,
    logger,
    data,
    agent: overrides.agent,
    models: overrides.models,
  });
  const agent = agentServices.agent;
  const shutdown = new AbortController();
  // Every in-flight message listens to it: no 'possible EventTarget memory leak' warning past 10 of them.
  setMaxListeners(0, shutdown.signal);
  const pipeline = new MessagePipeline({
    agent,
    rateLimiter,
    idempotency,
    metrics,
    logger,
    agentTimeoutMs: env.AGENT_TIMEOUT_MS,
    idempotencyTtlSeconds: env.IDEMPOTENCY_TTL_SECONDS,
    shutdownSignal: shutdown.signal,
  });
  const health = new HealthReporter({ version: VERSION, connection, agent: () => agent });
  health.register('realty_api', () => ({ ...agentServices.tools.realty.health() }));
  health.register('market_search', () => ({ ...agentServices.tools.market.health() }));
  const ops = new OpsService({ config, logger, cache, health, metrics });
  return {
    config,
    logger,
    connection,
    metrics,
    cache,
    rateLimiter,
    idempotency,
    agent,
    pipeline,
    health,
    shutdown,
    data,
    ops,
    agentServices,
  };
}
