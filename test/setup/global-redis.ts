import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type OwnRedis, startOwnRedis } from '../helpers/redis-server.js';
import { ALL_TEST_SECRETS } from '../helpers/secrets.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    logDir: string;
    /** A temporary folder for the run's test data; removed when the run ends. */
    tmpRoot: string;
  }
}

/**
 * Provides a Redis to every test (REDIS_URL when set, else a redis-server of our own on a free
 * port) and a folder collecting every log line the tests produce. At the end, fails the run if
 * any test secret appears in those logs. Test services keep their data under one temporary folder,
 * removed at the end.
 */
export default async function setup(project: TestProject) {
  const logDir = join(process.cwd(), '.test-logs');
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  let own: OwnRedis | undefined;
  let url = process.env.REDIS_URL;
  if (!url) {
    own = await startOwnRedis();
    url = own.url;
  }
  project.provide('redisUrl', url);
  project.provide('logDir', logDir);
  const tmpRoot = mkdtempSync(join(tmpdir(), 'rea-test-run-'));
  project.provide('tmpRoot', tmpRoot);

  return async () => {
    await own?.stop('SIGTERM');
    rmSync(tmpRoot, { recursive: true, force: true });
    const leaks: string[] = [];
    let lines = 0;
    for (const file of readdirSync(logDir)) {
      const text = readFileSync(join(logDir, file), 'utf8');
      lines += text.split('\n').length;
      for (const secret of ALL_TEST_SECRETS)
        if (text.includes(secret)) leaks.push(`${file}: ${secret.slice(0, 4)}…`);
    }
    if (leaks.length > 0) throw new Error(`test secrets leaked into the logs:\n${leaks.join('\n')}`);
    console.log(`log audit: ${lines} log lines from the test run checked, no test secret found`);
  };
}
