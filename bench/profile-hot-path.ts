/**
 * Not a benchmark (bench/run.ts runs only *.bench.ts): a profiling aid for the HTTP hot path.
 * Starts the service against a redis-server of its own, warms up, then drives POST /v1/chat with
 * autocannon from a child process and prints req/s, p99 and server CPU per request.
 *   node --import tsx bench/profile-hot-path.ts                      # figures only
 *   PROF=/tmp/hot.cpuprofile SECS=10 node --import tsx bench/profile-hot-path.ts   # plus a CPU profile
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOwnRedis } from '../test/helpers/redis-server.js';
import { configFrom, createApp } from './built.js';

const redis = await startOwnRedis();
const secret = 'bench-secret-0123456789';
const app = createApp(
  configFrom({
    PORT: '0',
    OPS_PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: redis.url,
    API_KEYS: `b:${secret}`,
    RATE_LIMIT_POINTS: '1000000',
    LOG_LEVEL: 'warn',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'p-')),
  }),
  {
    agent: { answer: async (m) => ({ text: `echo: ${m.text}` }), status: () => 'configured' },
  },
);
await app.start();
await app.core.connection.waitUntilReady(3000);
const url = `http://127.0.0.1:${app.http.port}/v1/chat`;
const ac = createRequire(import.meta.url).resolve('autocannon');
const opts = {
  url,
  method: 'POST',
  connections: 64,
  duration: Number(process.env.SECS ?? 8),
  idReplacement: true,
  headers: {
    authorization: `Bearer ${secret}`,
    'content-type': 'application/json',
    'idempotency-key': '[<id>]',
  },
  body: JSON.stringify({ message: 'Find me a flat', user_id: 'u-[<id>]', conversation_id: 'c' }),
};
const script = `require(${JSON.stringify(ac)})(JSON.parse(process.argv[1]), (e, r) => { process.stdout.write(JSON.stringify({rps:r.requests.average,p99:r.latency.p99,non2xx:r.non2xx})); });`;
const { Session } = await import('node:inspector/promises');
const prof = process.env.PROF ? new Session() : undefined;
// warm-up
await new Promise<void>((res) => {
  const c = spawn(process.execPath, ['-e', script, JSON.stringify({ ...opts, duration: 2 })]);
  c.on('exit', () => res());
});
if (prof) {
  prof.connect();
  await prof.post('Profiler.enable');
  await prof.post('Profiler.start');
}
const cpu0 = process.cpuUsage();
const out = await new Promise<string>((res) => {
  let o = '';
  const c = spawn(process.execPath, ['-e', script, JSON.stringify(opts)]);
  c.stdout.on('data', (d) => (o += d));
  c.on('exit', () => res(o));
});
const cpu = process.cpuUsage(cpu0);
const r = JSON.parse(out);
if (prof) {
  const { profile } = await prof.post('Profiler.stop');
  (await import('node:fs')).writeFileSync(process.env.PROF as string, JSON.stringify(profile));
}
console.log(out, 'cpu us/req', ((cpu.user + cpu.system) / (r.rps * opts.duration)).toFixed(0));
await app.stop();
await redis.stop();
process.exit(0);
