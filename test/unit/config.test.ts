import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ConfigError, loadConfig, readEnvironment } from '../../src/config/config.js';
import { TEST_SECRETS } from '../helpers/secrets.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('starts on embedded defaults with no configuration at all', () => {
    const c = loadConfig({});
    expect(c.env.PORT).toBe(3000);
    expect(c.env.OPS_PORT).toBe(8000);
    expect(c.env.REDIS_URL).toBe('redis://localhost:6379');
    expect(c.env.REALTY_API_BASE_URL).toBe('https://realty-us.p.rapidapi.com');
    expect(c.env.SLACK_API_URL).toBe('https://slack.com/api/');
    expect(c.env.DATA_DIR).toBe('./data');
    expect(c.env.BACKUP_KEEP).toBe(14);
    expect(c.apiKeys).toEqual([]);
    expect(c.rateLimits.default).toEqual({ points: 20, durationSeconds: 60 });
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT: must be a whole number \(got "abc"\)$/],
    [{ PORT: '70000' }, /^PORT: .*65535/],
    [{ OPS_PORT: '3000' }, /^OPS_PORT: must differ from PORT$/],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL: must be a redis or rediss URL$/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: must be one of/],
    [{ LANGSMITH_TRACING: 'maybe' }, /^LANGSMITH_TRACING: must be true or false/],
    [{ RATE_LIMIT_POINTS: '0' }, /^RATE_LIMIT_POINTS: /],
    [{ RATE_LIMIT_OVERRIDES: 'slack=5' }, /^RATE_LIMIT_OVERRIDES: "slack=5" is not of the form/],
    [{ API_KEYS: 'short' }, /^API_KEYS: the key named "key-[0-9a-f]{8}" is shorter than 12 characters$/],
    [{ API_KEYS: 'bad name!:0123456789abcdef' }, /^API_KEYS: entry 1 has an invalid name/],
  ])('rejects %o naming the variable', (env, message) => {
    const problems = problemsOf(env as Record<string, string>);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('reports every bad variable at once', () => {
    expect(problemsOf({ PORT: 'x', OPS_PORT: 'y', BACKUP_KEEP: '-1' })).toHaveLength(3);
  });

  it('never echoes a secret value in an error', () => {
    const problems = problemsOf({
      REDIS_URL: `ftp://user:${TEST_SECRETS.apiKey}@host`,
      API_KEYS: `x y:${TEST_SECRETS.apiKey2}`,
    });
    expect(problems.join('\n')).not.toContain(TEST_SECRETS.apiKey);
    expect(problems.join('\n')).not.toContain(TEST_SECRETS.apiKey2);
    expect(problems).toHaveLength(2);
  });

  it('parses named and unnamed API keys and limit overrides', () => {
    const c = loadConfig({
      API_KEYS: `web:${TEST_SECRETS.apiKey}, ${TEST_SECRETS.apiKey2}`,
      RATE_LIMIT_OVERRIDES: 'platform:slack=30/60,key:web=100/10',
    });
    expect(c.apiKeys[0]).toEqual({ name: 'web', secret: TEST_SECRETS.apiKey });
    expect(c.apiKeys[1]?.name).toMatch(/^key-[0-9a-f]{8}$/);
    expect(c.rateLimits.platforms.get('slack')).toEqual({ points: 30, durationSeconds: 60 });
    expect(c.rateLimits.apiKeys.get('web')).toEqual({ points: 100, durationSeconds: 10 });
  });

  it('treats an empty assignment as unset', () => {
    expect(loadConfig({ PORT: '', OPENAI_API_KEY: '' }).env.PORT).toBe(3000);
  });

  it('reads .env under the environment, which wins', () => {
    const dir = mkdtempSync(join(inject('tmpRoot'), 'cfg-'));
    const file = join(dir, '.env');
    writeFileSync(file, 'PORT=4000\nOPS_PORT=9000\n# comment\nLOG_LEVEL="debug"\n');
    const env = readEnvironment(file, { OPS_PORT: '9100' });
    const c = loadConfig(env);
    expect([c.env.PORT, c.env.OPS_PORT, c.env.LOG_LEVEL]).toEqual([4000, 9100, 'debug']);
    expect(readEnvironment(join(dir, 'missing.env'), {})).toEqual({});
  });
});
