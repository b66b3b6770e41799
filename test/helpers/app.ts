import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { type App, createApp } from '../../src/app/create-app.js';
import { configFrom } from '../../src/config/config.js';
import type { Agent } from '../../src/core/message.js';
import { FakeAgent } from '../fakes/fake-agent.js';
import { testLogger } from './logs.js';
import { TEST_SECRETS } from './secrets.js';

/** A started service on free ports with a fake agent and its own Redis key prefix. */
export interface TestApp {
  readonly app: App;
  readonly baseUrl: string;
  readonly opsUrl: string;
  readonly prefix: string;
  readonly logs: ReturnType<typeof testLogger>;
  stop(): Promise<void>;
}

/** The environment tests start from: free ports, the suite's Redis, a unique key prefix, two API keys. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    OPS_PORT: '0',
    HOST: '127.0.0.1',
    OPS_HOST: '127.0.0.1',
    REDIS_URL: inject('redisUrl'),
    REDIS_KEY_PREFIX: `t-${randomUUID().slice(0, 8)}:`,
    API_KEYS: `alpha:${TEST_SECRETS.apiKey},bravo:${TEST_SECRETS.apiKey2}`,
    SHUTDOWN_TIMEOUT_MS: '2000',
    // Each test service keeps its durable data in a folder of its own, never in the checkout.
    DATA_DIR: mkdtempSync(join(inject('tmpRoot'), 'data-')),
    BACKUP_DIR: mkdtempSync(join(inject('tmpRoot'), 'backups-')),
    ...overrides,
  };
}

/**
 * Builds and starts a service; waits until Redis is connected unless `waitForRedis` is false.
 * The agent is a {@link FakeAgent} unless one is given, or `agent: 'configured'` asks for the one
 * the configuration builds (the real agent on `OPENAI_BASE_URL`, or the unconfigured one).
 */
export async function startTestApp(
  options: { env?: Record<string, string>; agent?: Agent | 'configured'; waitForRedis?: boolean } = {},
): Promise<TestApp> {
  const env = testEnv(options.env);
  const logs = testLogger('app');
  const app = createApp(configFrom(env), {
    logger: logs.logger,
    agent: options.agent === 'configured' ? undefined : (options.agent ?? new FakeAgent()),
    metricsDefaults: false,
  });
  await app.start();
  if (options.waitForRedis !== false) await app.core.connection.waitUntilReady(5000);
  const opsPort = (app.ops.server.address() as { port: number }).port;
  return {
    app,
    baseUrl: `http://127.0.0.1:${app.http.port}`,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    prefix: env.REDIS_KEY_PREFIX as string,
    logs,
    stop: () => app.stop(),
  };
}

/** Headers for an authenticated JSON request. */
export function authHeaders(key: string = TEST_SECRETS.apiKey): Record<string, string> {
  return { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
}
