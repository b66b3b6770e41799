/**
 * `cacheClearPattern('realty_us:*')` over 1,000,000 matching cache entries (among 100,000 other
 * keys that must survive) against the shell pipeline an operator would type:
 *   redis-cli --scan --pattern '<prefix>cache:realty_us:*' | xargs redis-cli unlink
 * on a redis-server this bench starts on a free port (never a shared one). While each clear runs,
 * a separate process PINGs the server back to back and reports the slowest answer: the server must
 * never block. The server's own view is read from SLOWLOG (every command slower than 1 ms): the
 * longest command it ran during the clear. Rounds alternate; medians are compared.
 * Targets (issue 3): time ratio <= 1.2, largest PING latency during our clear < 50 ms.
 */
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startOwnRedis } from '../test/helpers/redis-server.js';
import { cacheClearPattern, configFrom } from './built.js';

const KEYS = 1_000_000;
const OTHERS = 100_000;
const ROUNDS = 3;
const PREFIX = 'bench:';
const TARGET_RATIO = 1.2;
const TARGET_PING_MS = 50;
const ROOT = join(import.meta.dirname, '..');

async function fill(client: Redis): Promise<void> {
  const batch = 1000;
  for (let start = 0; start < KEYS + OTHERS; start += batch * 50) {
    const p = client.pipeline();
    for (let b = start; b < Math.min(start + batch * 50, KEYS + OTHERS); b += batch) {
      const args: string[] = [];
      for (let i = b; i < Math.min(b + batch, KEYS + OTHERS); i++) {
        const key =
          i < KEYS
            ? `${PREFIX}cache:realty_us:${i.toString(16).padStart(32, '0')}`
            : i % 2 === 0
              ? `${PREFIX}cache:osm:${i}`
              : `${PREFIX}rl:http:key:${i}`;
        args.push(key, '{"listing":"x"}');
      }
      p.mset(...args);
    }
    await p.exec();
  }
}

/** A child process that PINGs back to back until stdin closes, then prints the slowest round trip. */
function startPinger(port: number): { stop: () => Promise<{ maxMs: number; pings: number }> } {
  const code = `
    import { Redis } from 'ioredis';
    const c = new Redis({ port: ${port}, host: '127.0.0.1' });
    let max = 0, n = 0, running = true;
    process.stdin.on('end', () => { running = false; });
    process.stdin.resume();
    await c.ping();
    while (running) {
      const t = performance.now();
      await c.ping();
      max = Math.max(max, performance.now() - t); n++;
      await new Promise((r) => setTimeout(r, 1));
    }
    console.log(JSON.stringify({ maxMs: max, pings: n }));
    c.disconnect();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  return {
    stop: () =>
      new Promise((resolve) => {
        child.on('close', () => resolve(JSON.parse(out) as { maxMs: number; pings: number }));
        child.stdin.end();
      }),
  };
}

async function count(client: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
}

/** Resets the slow log (threshold 1 ms); the returned function gives the longest command since, in ms. */
async function slowlogWatch(client: Redis): Promise<() => Promise<number>> {
  await client.config('SET', 'slowlog-log-slower-than', '1000');
  await client.call('SLOWLOG', 'RESET');
  return async () => {
    const entries = (await client.call('SLOWLOG', 'GET', '1000')) as Array<
      [number, number, number, string[]]
    >;
    return Math.max(0, ...entries.map((e) => e[2] / 1000));
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const redis = await startOwnRedis();
const client = new Redis(redis.url);
try {
  const config = configFrom({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: PREFIX });
  const ours: number[] = [];
  const theirs: number[] = [];
  const oursPing: number[] = [];
  const theirsPing: number[] = [];
  const oursSlow: number[] = [];
  const theirsSlow: number[] = [];
  // The machine's own noise: the slowest PING over 3 s with nothing else talking to the server.
  const idle = startPinger(redis.port);
  await new Promise((res) => setTimeout(res, 3000));
  const idleMax = (await idle.stop()).maxMs;
  for (let r = 0; r < ROUNDS; r++) {
    await fill(client);
    await new Promise((res) => setTimeout(res, 300));
    let pinger = startPinger(redis.port);
    await new Promise((res) => setTimeout(res, 300));
    let slowest = await slowlogWatch(client);
    let t0 = performance.now();
    const result = await cacheClearPattern('realty_us:*', { config });
    ours.push((performance.now() - t0) / 1000);
    oursPing.push((await pinger.stop()).maxMs);
    oursSlow.push(await slowest());
    if (result.deleted !== KEYS) throw new Error(`ours deleted ${result.deleted}, expected ${KEYS}`);
    if ((await count(client, `${PREFIX}*`)) !== OTHERS)
      throw new Error('ours touched keys outside the pattern');

    await fill(client);
    await new Promise((res) => setTimeout(res, 300));
    pinger = startPinger(redis.port);
    await new Promise((res) => setTimeout(res, 300));
    slowest = await slowlogWatch(client);
    t0 = performance.now();
    const shell = spawnSync(
      'bash',
      [
        '-c',
        `redis-cli -p ${redis.port} --scan --pattern '${PREFIX}cache:realty_us:*' | xargs redis-cli -p ${redis.port} unlink > /dev/null`,
      ],
      { encoding: 'utf8' },
    );
    theirs.push((performance.now() - t0) / 1000);
    theirsPing.push((await pinger.stop()).maxMs);
    theirsSlow.push(await slowest());
    if (shell.status !== 0) throw new Error(`redis-cli pipeline failed: ${shell.stderr}`);
    const left = await count(client, `${PREFIX}cache:realty_us:*`);
    if (left !== 0) throw new Error(`redis-cli pipeline left ${left} keys`);
  }
  const ratio = median(ours) / median(theirs);
  const fmt = (xs: number[], d = 2) => xs.map((x) => x.toFixed(d)).join(', ');
  console.log(
    `keys: ${KEYS} matching realty_us:* among ${KEYS + OTHERS} (redis-server on port ${redis.port})`,
  );
  console.log(
    `clear    ours ${median(ours).toFixed(2)} s [${fmt(ours)}]  redis-cli --scan | xargs redis-cli unlink ` +
      `${median(theirs).toFixed(2)} s [${fmt(theirs)}]  ratio ${ratio.toFixed(2)} (target <= ${TARGET_RATIO}) ` +
      `${ratio <= TARGET_RATIO ? 'PASS' : 'MISS'}`,
  );
  const worst = Math.max(...oursPing);
  console.log(
    `ping     largest PING during our clear ${worst.toFixed(1)} ms [${fmt(oursPing, 1)}] (target < ${TARGET_PING_MS} ms) ` +
      `${worst < TARGET_PING_MS ? 'PASS' : 'MISS'}; during the redis-cli pipeline ${Math.max(...theirsPing).toFixed(1)} ms; ` +
      `idle server ${idleMax.toFixed(1)} ms (load average ${loadavg()[0]?.toFixed(2)} on ${availableParallelism()} CPUs)`,
  );
  console.log(
    `server   longest command Redis ran (SLOWLOG) during our clear ${Math.max(...oursSlow).toFixed(2)} ms ` +
      `[${fmt(oursSlow)}]; during the redis-cli pipeline ${Math.max(...theirsSlow).toFixed(2)} ms`,
  );
} finally {
  client.disconnect();
  await redis.stop('SIGTERM');
}
