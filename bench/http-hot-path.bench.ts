/**
 * Hot path: `POST /v1/chat` through the real service (auth, rate limit, idempotency, metrics,
 * a fake agent that answers at once) against a bare Fastify route that parses the same JSON and
 * makes one Redis GET and one INCR. Both run in this process against a redis-server of the
 * bench's own; the load comes from autocannon in a child process (real HTTP over loopback,
 * keep-alive connections), so the load generator never takes the servers' event loop.
 * Targets (issue 2): service throughput >= 0.6 x baseline, service p99 <= 2 x baseline p99.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import type { Agent, AgentAnswer, InboundMessage } from '../src/core/message.js';
import { startOwnRedis } from '../test/helpers/redis-server.js';
import { configFrom, createApp } from './built.js';

const CONNECTIONS = 64;
const WARMUP_SECONDS = 3;
const RUN_SECONDS = 5;
const ROUNDS = 5;
const TARGET_THROUGHPUT = 0.6;
const TARGET_P99 = 2.0;

/** Answers at once: the bench measures everything around the agent. */
class InstantAgent implements Agent {
  async answer(message: InboundMessage): Promise<AgentAnswer> {
    return { text: `echo: ${message.text}` };
  }
  status(): 'configured' {
    return 'configured';
  }
}

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU time (user + system) the server process spent per request, in microseconds. */
  cpuUs: number;
}

const autocannon = createRequire(import.meta.url).resolve('autocannon');
const secret = `bench-${randomBytes(12).toString('hex')}`;
// `[<id>]` is replaced by autocannon with a fresh id per request (idReplacement): a unique Idempotency-Key
// and a distinct user per request, so every request claims a new key and a new rate-limit budget.
const body = JSON.stringify({
  message: 'Find me a two-bedroom flat in Austin under $2,000 a month',
  user_id: 'u-[<id>]',
  conversation_id: 'conv-bench',
});

/** Runs autocannon (its API, in a child process of its own) against `url` for `seconds`; resolves with its figures. */
function load(url: string, seconds: number): Promise<Omit<LoadResult, 'cpuUs'>> {
  const options = {
    url,
    method: 'POST',
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    idReplacement: true,
    headers: {
      authorization: `Bearer ${secret}`,
      'content-type': 'application/json',
      'idempotency-key': '[<id>]',
    },
    body,
  };
  const script =
    `require(${JSON.stringify(autocannon)})(JSON.parse(process.argv[1]), (err, res) => {` +
    'if (err) { console.error(err); process.exit(1); } process.stdout.write(JSON.stringify(res)); });';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}: ${err}`));
      try {
        const r = JSON.parse(out) as {
          requests: { average: number; total: number };
          latency: { p50: number; p99: number };
          non2xx: number;
          errors: number;
          timeouts: number;
        };
        resolve({
          rps: r.requests.average,
          p50: r.latency.p50,
          p99: r.latency.p99,
          total: r.requests.total,
          non2xx: r.non2xx,
          errors: r.errors,
          timeouts: r.timeouts,
        });
      } catch (e) {
        reject(
          new Error(`autocannon printed no JSON (${(e as Error).message}): ${out.slice(0, 200)} ${err}`),
        );
      }
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const fmt = (n: number, d = 0) => n.toFixed(d).padStart(8);

async function main(): Promise<void> {
  const redis = await startOwnRedis();
  const baseRedis = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-hot-path-'));
  const app = createApp(
    configFrom({
      HOST: '127.0.0.1',
      PORT: '0',
      OPS_HOST: '127.0.0.1',
      OPS_PORT: '0',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'bench:',
      API_KEYS: `bench:${secret}`,
      RATE_LIMIT_POINTS: '1000000',
      LOG_LEVEL: 'warn',
      DATA_DIR: dataDir,
    }),
    { agent: new InstantAgent() },
  );
  const base = Fastify({ logger: false });
  base.post('/v1/chat', async (request) => {
    const b = request.body as { message: string; user_id?: string };
    const seen = await baseRedis.get(`base:seen:${b.user_id}`);
    const count = await baseRedis.incr('base:count');
    return { reply: `echo: ${b.message}`, seen: seen !== null, count };
  });
  try {
    await app.start();
    if (!(await app.core.connection.waitUntilReady(5000))) throw new Error('service did not reach Redis');
    await base.listen({ port: 0, host: '127.0.0.1' });
    const targets = {
      baseline: `http://127.0.0.1:${(base.server.address() as AddressInfo).port}/v1/chat`,
      service: `http://127.0.0.1:${app.http.port}/v1/chat`,
    };

    // One request by hand: the service really answers 200 with rate-limit headers and replays by key.
    const probe = () =>
      fetch(targets.service, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${secret}`,
          'content-type': 'application/json',
          'idempotency-key': 'probe-1',
        },
        body: body.replace('[<id>]', 'probe'),
      });
    const first = await probe();
    const again = (await (await probe()).json()) as { cached: boolean };
    if (first.status !== 200 || !first.headers.get('ratelimit') || again.cached !== true) {
      throw new Error(`service probe failed: ${first.status} ${await first.text()}`);
    }

    console.log(
      `POST /v1/chat over loopback HTTP/1.1 keep-alive: autocannon (devDependency) in a child process, ` +
        `${CONNECTIONS} connections, no pipelining`,
    );
    console.log(
      'service : createApp() with auth, rate limit in Redis (RATE_LIMIT_POINTS=1000000), idempotency ' +
        '(unique Idempotency-Key and user per request), metrics (prom-client + sliding window), instant fake agent',
    );
    console.log('          LOG_LEVEL=warn: access and per-message logs are info and not written');
    console.log('baseline: bare Fastify route, default JSON parser, one Redis GET + one INCR');
    console.log(`redis   : own redis-server on ${redis.url} (not the shared one)`);
    console.log(
      `machine : ${availableParallelism()} CPUs for server, load generator and redis; ` +
        `load average ${loadavg()[0]?.toFixed(1)} at start`,
    );
    console.log(
      `warm-up ${WARMUP_SECONDS} s each, then ${ROUNDS} rounds of ${RUN_SECONDS} s each, baseline and ` +
        'service alternating; medians compared\n',
    );

    await load(targets.baseline, WARMUP_SECONDS);
    await load(targets.service, WARMUP_SECONDS);
    const results: Record<'baseline' | 'service', LoadResult[]> = { baseline: [], service: [] };
    console.log('round  target       req/s   p50 ms   p99 ms  non-2xx   errors  server CPU us/req');
    for (let round = 1; round <= ROUNDS; round++) {
      for (const name of ['baseline', 'service'] as const) {
        globalThis.gc?.();
        const cpu = process.cpuUsage();
        const run = await load(targets[name], RUN_SECONDS);
        const used = process.cpuUsage(cpu);
        const r = { ...run, cpuUs: (used.user + used.system) / Math.max(1, run.total) };
        results[name].push(r);
        console.log(
          `${String(round).padStart(5)}  ${name.padEnd(9)}${fmt(r.rps)} ${fmt(r.p50, 1)} ${fmt(r.p99, 1)} ` +
            `${fmt(r.non2xx)} ${fmt(r.errors + r.timeouts)} ${fmt(r.cpuUs)}`,
        );
        if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) {
          throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`);
        }
      }
    }
    const m = (name: 'baseline' | 'service', f: keyof LoadResult) => median(results[name].map((r) => r[f]));
    const throughputRatio = m('service', 'rps') / m('baseline', 'rps');
    const p99Ratio = m('service', 'p99') / m('baseline', 'p99');
    for (const name of ['baseline', 'service'] as const) {
      console.log(
        `median ${name.padEnd(9)}: ${m(name, 'rps').toFixed(0)} req/s, p99 ${m(name, 'p99').toFixed(1)} ms, ` +
          `server CPU ${m(name, 'cpuUs').toFixed(0)} us/request`,
      );
    }
    const metrics = app.core.metrics.json();
    const served = metrics.since_start;
    const byType = Object.entries(metrics.errors_by_type)
      .filter(([, n]) => n > 0)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ');
    console.log(
      `service counted ${served.requests_total} requests, ${served.rate_limited_total} rate limited, ` +
        `${served.errors_total} errors by type: ${byType || 'none'} (a request still in flight when a load ` +
        'run stops is client_closed_request, type validation)',
    );
    console.log(`load average ${loadavg()[0]?.toFixed(1)} at the end`);
    console.log(
      `throughput service/baseline: ${throughputRatio.toFixed(2)} (target >= ${TARGET_THROUGHPUT}) ` +
        (throughputRatio >= TARGET_THROUGHPUT ? 'PASS' : 'MISS'),
    );
    console.log(
      `p99 service/baseline:        ${p99Ratio.toFixed(2)} (target <= ${TARGET_P99.toFixed(1)}) ` +
        (p99Ratio <= TARGET_P99 ? 'PASS' : 'MISS'),
    );
  } finally {
    await base.close();
    await app.stop();
    baseRedis.disconnect();
    await redis.stop('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
