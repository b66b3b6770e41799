import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/app/create-app.js';
import { configFrom } from '../../src/config/config.js';
import { delayed, FakeAgent } from '../fakes/fake-agent.js';
import { authHeaders, testEnv } from '../helpers/app.js';
import { jsonOf } from '../helpers/http.js';
import { testLogger } from '../helpers/logs.js';
import { TEST_SECRETS } from '../helpers/secrets.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format strictly; throws on any line it does not understand. */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: \\d+)?$`);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = new RegExp(`^# HELP (${NAME}) .*$`).exec(line);
    if (m) continue;
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m) {
      types.set(m[1] as string, m[2] as string);
      continue;
    }
    m = sampleRe.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/g;
      let consumed = 0;
      for (const lm of m[2].matchAll(labelRe)) {
        labels[lm[1] as string] = lm[2] as string;
        consumed += lm[0].length;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels: ${line}`);
    }
    const raw = m[3] as string;
    // Values as Prometheus reads them (Go's ParseFloat: Inf and NaN in any case).
    const special = /^([+-]?)(inf|infinity|nan)$/i.exec(raw);
    const value = special
      ? special[2]?.toLowerCase() === 'nan'
        ? Number.NaN
        : (special[1] === '-' ? -1 : 1) * Number.POSITIVE_INFINITY
      : Number(raw);
    if (!special && (raw.trim() === '' || Number.isNaN(value))) throw new Error(`bad value: ${line}`);
    samples.push({ name: m[1] as string, labels, value });
  }
  return { types, samples };
}

describe('ops listener: /health and /metrics', () => {
  let app: App;
  let ops: string;
  let api: string;
  beforeAll(async () => {
    app = createApp(configFrom(testEnv({ RATE_LIMIT_POINTS: '3', RAPIDAPI_KEY: TEST_SECRETS.rapidApiKey })), {
      logger: testLogger('ops').logger,
      agent: new FakeAgent(delayed(20, 'ok')),
    });
    await app.start();
    await app.core.connection.waitUntilReady(3000);
    ops = `http://127.0.0.1:${(app.ops.server.address() as { port: number }).port}`;
    api = `http://127.0.0.1:${app.http.port}`;
    const send = () =>
      fetch(`${api}/v1/chat`, {
        method: 'POST',
        headers: authHeaders(),
        body: JSON.stringify({ message: 'hi', user_id: 'm' }),
      });
    for (let i = 0; i < 4; i++) await (await send()).arrayBuffer(); // 3 answered, 1 rate limited
    await fetch(`${api}/v1/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    }); // 401
    await app.core.cache.get('realty_us:missing');
    await app.core.cache.set('realty_us:present', 1);
    await app.core.cache.get('realty_us:present');
  });
  afterAll(() => app.stop());

  it('/health reports every component and the version', async () => {
    const res = await fetch(`${ops}/health`);
    expect(res.status).toBe(200);
    const h = await jsonOf(res);
    expect(h).toMatchObject({
      status: 'ok',
      checks: {
        redis: { status: 'connected', mode: 'redis' },
        llm: { status: 'configured' },
        http: { status: 'listening' },
        slack: { status: 'off' },
        discord: { status: 'off' },
      },
    });
    expect(h.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof h.uptime_seconds).toBe('number');
    expect(h.checks.realty_api.status).toBeDefined();
  });

  it('/metrics answers JSON by default with the runbook fields over a window', async () => {
    const res = await fetch(`${ops}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const m = await jsonOf(res);
    expect(m.window_seconds).toBe(300);
    expect(m.requests_total).toBe(5);
    expect(m.errors_total).toBe(2);
    expect(m.error_rate).toBeCloseTo(0.4, 5);
    expect(m.errors_by_type).toMatchObject({
      rate_limit: 1,
      auth: 1,
      llm: 0,
      api: 0,
      redis: 0,
      timeout: 0,
      internal: 0,
    });
    expect(m.rate_limited_total).toBe(1);
    expect(m.cache).toEqual({ hits: 1, misses: 1 });
    expect(m.cache_hit_rate).toBe(0.5);
    expect(m.avg_response_time).toBeGreaterThan(0.01);
    expect(m.avg_response_time).toBeLessThan(5);
    expect(m.response_time_seconds.p50).toBeGreaterThan(0);
    expect(m.response_time_seconds.p99).toBeGreaterThanOrEqual(m.response_time_seconds.p90);
    expect(m.response_time_seconds.p90).toBeGreaterThanOrEqual(m.response_time_seconds.p50);
    expect(m.redis).toEqual({ connected: true, mode: 'redis' });
  });

  it.each([
    ['Accept: text/plain', { accept: 'text/plain' }, ''],
    [
      'Accept from Prometheus',
      { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' },
      '',
    ],
    ['?format=prometheus', {}, '?format=prometheus'],
  ])('/metrics answers Prometheus text for %s, and it parses', async (_name, headers, query) => {
    const res = await fetch(`${ops}/metrics${query}`, { headers });
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const { types, samples } = parsePrometheus(await res.text());
    for (const [name, type] of types) {
      if (type === 'counter') expect(name).toMatch(/_total$/);
    }
    for (const s of samples) {
      expect(Object.keys(s.labels)).not.toContain('user');
      expect(Object.keys(s.labels)).not.toContain('user_id');
    }
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    expect(value('realty_chat_requests_total', { platform: 'http', outcome: 'ok' })).toBe(3);
    expect(value('realty_chat_requests_total', { platform: 'http', outcome: 'rate_limited' })).toBe(1);
    expect(value('realty_errors_total', { type: 'auth' })).toBe(1);
    expect(value('realty_chat_response_seconds_count', { platform: 'http' })).toBe(5);
    expect(value('realty_cache_requests_total', { source: 'realty_us', result: 'hit' })).toBe(1);
    expect(value('realty_redis_up')).toBe(1);
    expect(value('realty_degraded_mode')).toBe(0);
    // The process defaults are there under their conventional names.
    expect(value('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(value('nodejs_eventloop_lag_seconds')).toBeDefined();
  });

  it('serves nothing else', async () => {
    const res = await fetch(`${ops}/v1/chat`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/problem\+json/);
  });
});
