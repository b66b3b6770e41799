/**
 * Memory mode: Redis unreachable, 100k distinct users each send one message (with an
 * Idempotency-Key) through the core pipeline. The in-memory rate-limit and idempotency stores are
 * bounded (MEMORY_STORE_MAX_ENTRIES), so resident memory must level off: target < 150 MB growth.
 */

import type { Agent, AgentAnswer, InboundMessage } from '../src/core/message.js';
import { freePort } from '../test/helpers/redis-server.js';
import { configFrom, createApp } from './built.js';

const USERS = 100_000;
const WARMUP_USERS = 2_000;
const CONCURRENCY = 64;
const TARGET_MB = 150;

/** Answers at once: the bench measures what the pipeline keeps, not the agent. */
class InstantAgent implements Agent {
  async answer(message: InboundMessage): Promise<AgentAnswer> {
    return { text: `echo: ${message.text}` };
  }
  status(): 'configured' {
    return 'configured';
  }
}

const MB = 1024 * 1024;
const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

async function settle(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
}

async function main(): Promise<void> {
  if (!globalThis.gc) throw new Error('run with --expose-gc (npm run bench does)');
  const closedPort = await freePort();
  const config = configFrom({
    REDIS_URL: `redis://127.0.0.1:${closedPort}`,
    REDIS_CONNECT_TIMEOUT_MS: '200',
    RATE_LIMIT_POINTS: '20',
    // Per-message logs are info: not written. The one degraded-mode warning is.
    LOG_LEVEL: 'warn',
  });
  const app = createApp(config, { agent: new InstantAgent() });
  const core = app.core;
  core.connection.start();
  try {
    let answered = 0;
    const send = async (from: number, to: number) => {
      let next = from;
      const worker = async () => {
        while (next < to) {
          const i = next++;
          const reply = await core.pipeline.handle(
            {
              platform: 'http',
              userId: `http:bench:user-${i}`,
              tenant: 'bench',
              conversationId: `conv-${i}`,
              text: `Is there a three-bedroom house near downtown Austin for user ${i}?`,
            },
            { idempotencyKey: `idem-${i}` },
          );
          if (reply.text.length > 0) answered++;
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    };

    await send(0, WARMUP_USERS);
    if (core.connection.mode !== 'memory') throw new Error('expected memory mode: Redis must be unreachable');
    const before = await settle();
    const started = performance.now();
    await send(WARMUP_USERS, WARMUP_USERS + USERS);
    const seconds = (performance.now() - started) / 1000;
    const after = await settle();
    const growth = after.rss - before.rss;

    console.log(
      `memory mode: REDIS_URL -> closed port ${closedPort} (mode=${core.connection.mode}), ` +
        `MEMORY_STORE_MAX_ENTRIES=${config.env.MEMORY_STORE_MAX_ENTRIES}, LOG_LEVEL=warn`,
    );
    console.log(
      `${USERS} distinct users x 1 message with an Idempotency-Key, core pipeline called directly, ` +
        `${CONCURRENCY} in flight; ${WARMUP_USERS} warm-up users first (not counted)`,
    );
    console.log(`answered ${answered - WARMUP_USERS} in ${seconds.toFixed(1)} s`);
    console.log(`           ${'rss'.padStart(10)} ${'heap used'.padStart(10)} ${'heap total'.padStart(10)}`);
    const row = (name: string, m: NodeJS.MemoryUsage) =>
      console.log(
        `${name.padEnd(10)} ${mb(m.rss).padStart(10)} ${mb(m.heapUsed).padStart(10)} ${mb(m.heapTotal).padStart(10)}`,
      );
    row('before', before);
    row('after gc', after);
    console.log(
      `growth     ${mb(growth).padStart(10)} ${mb(after.heapUsed - before.heapUsed).padStart(10)} ` +
        `${mb(after.heapTotal - before.heapTotal).padStart(10)}`,
    );
    if (answered !== WARMUP_USERS + USERS) throw new Error(`only ${answered} messages were answered`);
    console.log(
      `rss growth ${mb(growth)} (target < ${TARGET_MB} MB) ${growth < TARGET_MB * MB ? 'PASS' : 'MISS'}`,
    );
  } finally {
    await core.connection.close();
  }
}

await main();
