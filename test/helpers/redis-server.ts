import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A redis-server of the test's own, on a free loopback port, that the test may stop and start. */
export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  /** Stops it (SIGKILL by default: Redis dying, not a polite shutdown). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Sends a signal without waiting (SIGSTOP freezes it: connections open, nothing answered; SIGCONT thaws). */
  signal(signal: NodeJS.Signals): void;
}

function assertRedisServerInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-server is not installed: tests need a real Redis. Install it (Debian: apt-get install -y redis-server) ' +
        'or set REDIS_URL to a Redis the tests may write to.',
    );
  }
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    if (Date.now() > deadline)
      throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a redis-server with nothing on disk on a free loopback port. */
export async function startOwnRedis(port?: number): Promise<OwnRedis> {
  assertRedisServerInstalled();
  const chosen = port ?? (await freePort());
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(chosen),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    );
    await waitForPing(chosen, 5000);
  };
  await launch();
  return {
    port: chosen,
    url: `redis://127.0.0.1:${chosen}`,
    async stop(signal = 'SIGKILL') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return; // not running (exited, or killed)
      const exited = new Promise((r) => c.once('exit', r));
      c.kill(signal);
      await exited;
    },
    start: launch,
    signal(signal) {
      child?.kill(signal);
    },
  };
}
