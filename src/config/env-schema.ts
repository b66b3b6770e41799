import { z } from 'zod';

/**
 * The environment variables the service reads, with their defaults.
 * `.env.example` and the README document every one of them; a test keeps the three in step.
 */

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], 'must be true or false'))
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      `must be a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL`,
    );

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const idList = z
  .string()
  .trim()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const logLevel = z.enum(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  'must be one of fatal, error, warn, info, debug, trace, silent',
);

/** Names of variables whose values are secrets: never echoed in errors or logs. */
export const SECRET_VARIABLES = new Set([
  'API_KEYS',
  'OPENAI_API_KEY',
  'RAPIDAPI_KEY',
  'MARKET_SEARCH_API_KEY',
  'LANGSMITH_API_KEY',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'DISCORD_TOKEN',
  'REDIS_URL',
]);

/** Every variable with its parser and its default (as the string an operator would write). */
export const envSchema = z.object({
  LOG_LEVEL: logLevel.default('info'),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(3000),
  OPS_HOST: z.string().trim().min(1).default('0.0.0.0'),
  OPS_PORT: int(0, 65535).default(8000),
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),

  REDIS_URL: url(['redis:', 'rediss:']).default('redis://localhost:6379'),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits or _ . : -')
    .default('real-estate-ai:'),
  REDIS_COMMAND_TIMEOUT_MS: int(10, 60_000).default(1000),
  REDIS_CONNECT_TIMEOUT_MS: int(100, 60_000).default(2000),
  MEMORY_STORE_MAX_ENTRIES: int(100, 10_000_000).default(50_000),

  API_KEYS: z.string().default(''),
  RATE_LIMIT_POINTS: int(1, 1_000_000).default(20),
  RATE_LIMIT_DURATION_SECONDS: int(1, 86_400).default(60),
  RATE_LIMIT_OVERRIDES: z.string().trim().default(''),
  RATE_LIMIT_UNAUTHENTICATED_POINTS: int(1, 1_000_000).default(30),

  CACHE_TTL_SECONDS: int(1, 30 * 86_400).default(3600),
  CACHE_MEMORY_MAX_ENTRIES: int(10, 1_000_000).default(5000),
  /** How long a tool result read from Redis is also kept in the process (0 = never); see Cache.wrap. */
  CACHE_LOCAL_SECONDS: int(0, 300).default(5),
  IDEMPOTENCY_TTL_SECONDS: int(60, 7 * 86_400).default(86_400),

  AGENT_TIMEOUT_MS: int(100, 600_000).default(60_000),
  MESSAGE_MAX_CHARS: int(1, 100_000).default(4000),
  HTTP_BODY_LIMIT_BYTES: int(256, 10_485_760).default(65_536),
  HTTP_BODY_TIMEOUT_MS: int(100, 120_000).default(10_000),
  HTTP_TRUST_PROXY: bool.default(false),
  METRICS_WINDOW_SECONDS: int(10, 86_400).default(300),

  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: url(['http:', 'https:']).optional(),
  OPENAI_MODEL: z.string().trim().min(1).default('gpt-4o-mini'),
  /** A cheaper model for the subagents; the main model when unset. */
  OPENAI_SUBAGENT_MODEL: optionalString,
  /** Longest wait for the model's response headers (the whole answer is bounded by AGENT_TIMEOUT_MS). */
  LLM_TIMEOUT_MS: int(100, 600_000).default(60_000),
  LLM_MAX_CONCURRENT: int(1, 10_000).default(8),
  /** Model requests allowed per LLM_RESERVOIR_INTERVAL_MS across all instances (0 = no limit). */
  LLM_RESERVOIR: int(0, 1_000_000).default(120),
  LLM_RESERVOIR_INTERVAL_MS: int(100, 86_400_000).default(60_000),
  LLM_QUEUE_LIMIT: int(0, 100_000).default(200),
  /** Tokens (as the model reports them) one user may spend per UTC day; 0 = unlimited. */
  LLM_USER_DAILY_TOKENS: int(0, 1_000_000_000).default(0),
  /** Model calls allowed in one agent loop (the orchestrator's, and each subagent's). */
  AGENT_MAX_STEPS: int(1, 50).default(8),
  /** Longest single step of a run: one model call or one tool call (bounded by AGENT_TIMEOUT_MS). */
  AGENT_STEP_TIMEOUT_MS: int(100, 600_000).default(30_000),
  /** Characters of the user's remembered facts placed in the prompt (newest first). */
  AGENT_MEMORY_PROMPT_MAX_CHARS: int(100, 50_000).default(2000),
  /** How long a conversation's recent turns are kept (Redis; memory in degraded mode). */
  CONVERSATION_TTL_SECONDS: int(60, 90 * 86_400).default(86_400),
  /** Approximate tokens (characters / 4) of earlier turns put back into the prompt. */
  CONVERSATION_MAX_TOKENS: int(0, 200_000).default(2000),
  /** Reuse of answers that hold nothing user-specific, keyed by question and model; 0 = off. */
  ANSWER_CACHE_TTL_SECONDS: int(0, 7 * 86_400).default(900),

  RAPIDAPI_KEY: optionalString,
  REALTY_API_BASE_URL: url(['http:', 'https:']).default('https://realty-us.p.rapidapi.com'),
  REALTY_API_HOST: z.string().trim().min(1).default('realty-us.p.rapidapi.com'),
  REALTY_CACHE_TTL_SECONDS: int(1, 30 * 86_400).default(3600),
  REALTY_MAX_CONCURRENT: int(1, 1000).default(4),
  REALTY_RESERVOIR: int(0, 1_000_000).default(5),
  REALTY_RESERVOIR_INTERVAL_MS: int(100, 86_400_000).default(1000),
  REALTY_QUEUE_LIMIT: int(0, 100_000).default(50),

  /**
   * Web search for the market trends subagent (the Tavily search API, or a compatible one): the
   * subagent is offered only when a key is set.
   */
  MARKET_SEARCH_API_KEY: optionalString,
  MARKET_SEARCH_BASE_URL: url(['http:', 'https:']).default('https://api.tavily.com'),
  MARKET_SEARCH_CACHE_TTL_SECONDS: int(1, 30 * 86_400).default(21_600),
  MARKET_SEARCH_MAX_CONCURRENT: int(1, 1000).default(2),
  MARKET_SEARCH_RESERVOIR: int(0, 1_000_000).default(60),
  MARKET_SEARCH_RESERVOIR_INTERVAL_MS: int(100, 86_400_000).default(60_000),
  MARKET_SEARCH_QUEUE_LIMIT: int(0, 100_000).default(20),

  /** OpenStreetMap services: geocoding (Nominatim, at most 1 request/s by policy) and points of interest (Overpass). */
  NOMINATIM_BASE_URL: url(['http:', 'https:']).default('https://nominatim.openstreetmap.org'),
  OVERPASS_BASE_URL: url(['http:', 'https:']).default('https://overpass-api.de'),
  /** Identifies this service to OSM (their policy requires a real User-Agent; add a contact). */
  OSM_USER_AGENT: z
    .string()
    .trim()
    .min(3)
    .max(200)
    .default('real-estate-ai/0.1 (self-hosted real-estate assistant)'),
  OSM_CACHE_TTL_SECONDS: int(1, 30 * 86_400).default(86_400),
  NOMINATIM_MAX_CONCURRENT: int(1, 100).default(1),
  NOMINATIM_RESERVOIR: int(0, 1_000_000).default(1),
  /** 1.1 s: a margin over the policy's 1 s so network jitter never lands two requests closer than that. */
  NOMINATIM_RESERVOIR_INTERVAL_MS: int(100, 86_400_000).default(1100),
  NOMINATIM_QUEUE_LIMIT: int(0, 100_000).default(20),
  OVERPASS_MAX_CONCURRENT: int(1, 100).default(2),
  OVERPASS_RESERVOIR: int(0, 1_000_000).default(2),
  OVERPASS_RESERVOIR_INTERVAL_MS: int(100, 86_400_000).default(1000),
  OVERPASS_QUEUE_LIMIT: int(0, 100_000).default(20),

  /** Per-request timeout of the data APIs (Realty US, Nominatim, Overpass, market search). */
  UPSTREAM_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** Retries after the first attempt on 429, 5xx and network errors (within the caller's time budget). */
  UPSTREAM_MAX_RETRIES: int(0, 10).default(2),
  UPSTREAM_RETRY_BASE_DELAY_MS: int(1, 60_000).default(250),
  UPSTREAM_RETRY_MAX_DELAY_MS: int(1, 600_000).default(8000),
  /** A Retry-After longer than this is not waited for: the call fails with a quota error instead. */
  UPSTREAM_MAX_RETRY_AFTER_MS: int(0, 600_000).default(30_000),

  LANGSMITH_TRACING: bool.default(false),
  LANGSMITH_API_KEY: optionalString,
  LANGSMITH_ENDPOINT: url(['http:', 'https:']).default('https://api.smith.langchain.com'),
  LANGSMITH_PROJECT: z.string().trim().min(1).default('real-estate-ai'),

  SLACK_BOT_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: url(['http:', 'https:']).default('https://slack.com/api/'),
  SLACK_ADMIN_USER_IDS: idList.default([]),

  DISCORD_TOKEN: optionalString,
  DISCORD_APPLICATION_ID: optionalString,
  DISCORD_API_URL: url(['http:', 'https:']).default('https://discord.com/api'),
  DISCORD_ADMIN_USER_IDS: idList.default([]),
  DISCORD_ADMIN_ROLE_IDS: idList.default([]),

  DATA_DIR: z.string().trim().min(1).default('./data'),
  BACKUP_DIR: z.string().trim().min(1).default('./backups'),
  BACKUP_KEEP: int(1, 10_000).default(14),
  /** gzip level of backup archives: 1 fastest .. 9 smallest. */
  BACKUP_GZIP_LEVEL: int(1, 9).default(6),
  /** Verify and restore refuse an archive with a file larger than this (gzip bomb guard). */
  BACKUP_MAX_FILE_BYTES: int(1, 2 ** 50).default(256 * 1024 * 1024),
  /** Verify and restore refuse an archive whose files add up to more than this. */
  BACKUP_MAX_TOTAL_BYTES: int(1, 2 ** 50).default(8 * 1024 * 1024 * 1024),
});

export type Env = z.output<typeof envSchema>;
export type EnvName = keyof Env;
