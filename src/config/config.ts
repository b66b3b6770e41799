import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { z } from 'zod';
import { type Env, envSchema, SECRET_VARIABLES } from './env-schema.js';

/** One HTTP API key: a stable name (used in user ids and logs) and the secret itself. */
export interface ApiKey {
  readonly name: string;
  readonly secret: string;
}

/** A rate limit: `points` messages per `durationSeconds`. */
export interface RateLimitRule {
  readonly points: number;
  readonly durationSeconds: number;
}

/** Per-platform and per-API-key limits that replace the default one. */
export interface RateLimitConfig {
  readonly default: RateLimitRule;
  readonly platforms: ReadonlyMap<string, RateLimitRule>;
  readonly apiKeys: ReadonlyMap<string, RateLimitRule>;
  /** Budget for requests that fail before a user is known (bad key, bad body), per client address. */
  readonly unauthenticated: RateLimitRule;
}

/** The validated configuration of the whole service. */
export interface Config {
  readonly env: Env;
  readonly apiKeys: readonly ApiKey[];
  readonly rateLimits: RateLimitConfig;
}

/** Thrown when the environment holds invalid values; the message names every bad variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MIN_KEY_LENGTH = 12;

function parseApiKeys(raw: string, problems: string[]): ApiKey[] {
  const keys: ApiKey[] = [];
  const names = new Set<string>();
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const secret = colon === -1 ? entry : entry.slice(colon + 1);
    const name =
      colon === -1
        ? `key-${createHash('sha256').update(secret).digest('hex').slice(0, 8)}`
        : entry.slice(0, colon);
    if (!KEY_NAME.test(name)) {
      problems.push(`API_KEYS: entry ${index + 1} has an invalid name (use letters, digits, _ . - up to 64)`);
      return;
    }
    if (secret.length < MIN_KEY_LENGTH) {
      problems.push(`API_KEYS: the key named "${name}" is shorter than ${MIN_KEY_LENGTH} characters`);
      return;
    }
    if (names.has(name)) {
      problems.push(`API_KEYS: the name "${name}" is used twice`);
      return;
    }
    names.add(name);
    keys.push({ name, secret });
  });
  return keys;
}

const OVERRIDE = /^(platform|key):([A-Za-z0-9_.-]{1,64})=(\d{1,9})\/(\d{1,6})$/;

function parseOverrides(raw: string, problems: string[]) {
  const platforms = new Map<string, RateLimitRule>();
  const apiKeys = new Map<string, RateLimitRule>();
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = OVERRIDE.exec(entry);
    const points = Number(m?.[3]);
    const durationSeconds = Number(m?.[4]);
    if (!m || points < 1 || durationSeconds < 1) {
      problems.push(
        `RATE_LIMIT_OVERRIDES: "${entry}" is not of the form platform:<name>=<points>/<seconds> or key:<name>=<points>/<seconds>`,
      );
      continue;
    }
    (m[1] === 'platform' ? platforms : apiKeys).set(m[2] as string, { points, durationSeconds });
  }
  return { platforms, apiKeys };
}

function describeIssue(issue: z.core.$ZodIssue, source: Record<string, string | undefined>): string {
  const name = String(issue.path[0] ?? '?');
  const value = source[name];
  const shown = value === undefined || SECRET_VARIABLES.has(name) ? '' : ` (got "${value.slice(0, 80)}")`;
  return `${name}: ${issue.message}${shown}`;
}

/**
 * Reads `.env` (when present) under the process environment; the environment wins.
 * This is the only place in the service that reads `process.env`.
 */
export function readEnvironment(
  envFile = '.env',
  environment: NodeJS.ProcessEnv = process.env,
): Record<string, string | undefined> {
  let fromFile: Record<string, string> = {};
  try {
    fromFile = parseEnv(readFileSync(envFile, 'utf8')) as Record<string, string>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ConfigError([`${envFile}: ${(err as Error).message}`]);
  }
  return { ...fromFile, ...environment };
}

/** Validates raw variables into a {@link Config}; throws {@link ConfigError} naming each bad variable. */
export function loadConfig(source: Record<string, string | undefined> = readEnvironment()): Config {
  const known: Record<string, string> = {};
  for (const name of Object.keys(envSchema.shape)) {
    const value = source[name];
    // An empty assignment (`PORT=`) means "use the default", as in most dotenv tools.
    if (value !== undefined && value.trim() !== '') known[name] = value;
  }
  const parsed = envSchema.safeParse(known);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => describeIssue(i, known));
  // Keys and overrides are checked even when other variables failed, so one run names every problem.
  const apiKeys = parseApiKeys(known.API_KEYS ?? '', problems);
  const overrides = parseOverrides(known.RATE_LIMIT_OVERRIDES ?? '', problems);
  if (!parsed.success) throw new ConfigError(problems);
  const env = parsed.data;
  if (env.OPS_PORT !== 0 && env.OPS_PORT === env.PORT) problems.push('OPS_PORT: must differ from PORT');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    env,
    apiKeys,
    rateLimits: {
      default: { points: env.RATE_LIMIT_POINTS, durationSeconds: env.RATE_LIMIT_DURATION_SECONDS },
      platforms: overrides.platforms,
      apiKeys: overrides.apiKeys,
      unauthenticated: {
        points: env.RATE_LIMIT_UNAUTHENTICATED_POINTS,
        durationSeconds: env.RATE_LIMIT_DURATION_SECONDS,
      },
    },
  };
}

/** Test and tooling helper: a config from defaults plus the given overrides, ignoring the real environment. */
export function configFrom(overrides: Record<string, string> = {}): Config {
  return loadConfig(overrides);
}
