import { getEventListeners } from 'node:events';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent, AgentContext, InboundMessage } from '../../src/core/message.js';
import { MessagePipeline } from '../../src/core/pipeline.js';
import { IdempotencyStore } from '../../src/dedup/idempotency-store.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';
import { ServiceMetrics } from '../../src/metrics/service-metrics.js';
import { RateLimiter } from '../../src/rate-limit/rate-limiter.js';
import { RedisConnection } from '../../src/redis/connection.js';
import { testLogger } from '../helpers/logs.js';

const rule = { points: 100, durationSeconds: 60 };
const message: InboundMessage = {
  platform: 'http',
  userId: 'http:alpha:u1',
  conversationId: 'c1',
  text: 'hello',
};

const connections: RedisConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) await c.close();
});

/** A pipeline in memory mode (its Redis connection is never started) around `agent`. */
function pipelineWith(
  agent: Agent,
  options: { logger?: Logger; timeoutMs?: number; shutdown?: AbortSignal; points?: number },
) {
  const limit = options.points === undefined ? rule : { ...rule, points: options.points };
  const logger = options.logger ?? testLogger('pipeline').logger;
  const connection = new RedisConnection({
    url: 'redis://127.0.0.1:1',
    keyPrefix: 't:',
    commandTimeoutMs: 100,
    connectTimeoutMs: 100,
    logger,
  });
  connections.push(connection);
  return new MessagePipeline({
    agent,
    rateLimiter: new RateLimiter({
      connection,
      rules: { default: limit, platforms: new Map(), apiKeys: new Map(), unauthenticated: limit },
      memoryMaxEntries: 100,
    }),
    idempotency: new IdempotencyStore({ connection, memoryMaxEntries: 100 }),
    metrics: new ServiceMetrics({ windowSeconds: 60, collectDefaults: false }),
    logger,
    agentTimeoutMs: options.timeoutMs ?? 5000,
    idempotencyTtlSeconds: 60,
    shutdownSignal: options.shutdown,
  });
}

/** An agent that never answers and rejects with the signal's reason from its own abort listener. */
function hangingAgent(seen: { context?: AgentContext }): Agent {
  return {
    status: () => 'configured',
    answer: (_m, context) => {
      seen.context = context;
      return new Promise((_, reject) => {
        context.signal.addEventListener('abort', () => reject(context.signal.reason));
      });
    },
  };
}

describe('pipeline: the agent run under a time budget, the caller and shutdown', () => {
  it('times out with agent_timeout and aborts the agent with a TimeoutError', async () => {
    const seen: { context?: AgentContext } = {};
    const p = pipelineWith(hangingAgent(seen), { timeoutMs: 50 });
    await expect(p.handle(message)).rejects.toMatchObject({ code: 'agent_timeout' });
    expect(seen.context?.signal.aborted).toBe(true);
    expect((seen.context?.signal.reason as DOMException | undefined)?.name).toBe('TimeoutError');
  });

  it('answers client_closed_request when the caller goes away, with its reason as the cause', async () => {
    const seen: { context?: AgentContext } = {};
    const caller = new AbortController();
    const p = pipelineWith(hangingAgent(seen), {});
    const pending = p.handle(message, { signal: caller.signal, idempotencyKey: 'k1' });
    await new Promise((r) => setTimeout(r, 20));
    const reason = new Error('client went away');
    caller.abort(reason);
    await expect(pending).rejects.toMatchObject({ code: 'client_closed_request', cause: reason });
    expect(seen.context?.signal.reason).toBe(reason);
  });

  it('answers shutting_down when the service stops, and refuses at once when already aborted', async () => {
    const shutdown = new AbortController();
    const calls: InboundMessage[] = [];
    const seen: { context?: AgentContext } = {};
    const agent = hangingAgent(seen);
    const p = pipelineWith(
      {
        ...agent,
        answer: (m, c) => {
          calls.push(m);
          return agent.answer(m, c);
        },
      },
      { shutdown: shutdown.signal },
    );
    const pending = p.handle(message);
    await new Promise((r) => setTimeout(r, 20));
    shutdown.abort(new Error('shutdown'));
    await expect(pending).rejects.toMatchObject({ code: 'shutting_down' });
    await expect(p.handle({ ...message, userId: 'http:alpha:u2' })).rejects.toMatchObject({
      code: 'shutting_down',
    });
    const gone = new AbortController();
    gone.abort(new Error('gone'));
    const q = pipelineWith(agent, {});
    await expect(q.handle(message, { signal: gone.signal })).rejects.toMatchObject({
      code: 'client_closed_request',
    });
    expect(calls).toHaveLength(1);
  });

  it('leaves no listener behind on the caller and shutdown signals', async () => {
    const shutdown = new AbortController();
    const caller = new AbortController();
    const p = pipelineWith(
      { status: () => 'configured', answer: async (m) => ({ text: `echo: ${m.text}` }) },
      { shutdown: shutdown.signal },
    );
    for (let i = 0; i < 20; i++) await p.handle({ ...message, text: `m${i}` }, { signal: caller.signal });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    // The pipeline's own single listener, however many messages ran.
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(1);
  });

  it("writes the message's lines with its bindings, and the agent's logger carries them too", async () => {
    const logs = testLogger('pipeline-lines');
    const p = pipelineWith(
      {
        status: () => 'configured',
        answer: async (m, c) => {
          c.logger.info('agent line');
          return { text: m.text };
        },
      },
      { logger: logs.logger },
    );
    const reply = await p.handle(message);
    const lines = logs.lines().filter((l) => l.trace_id === reply.traceId);
    expect(lines.map((l) => l.msg)).toEqual(['agent line', 'message answered']);
    for (const l of lines) expect(l).toMatchObject({ platform: 'http', conversation_id: 'c1' });
    expect(lines[0]?.user).toMatch(/^[0-9a-f]{16}$/);
  });

  it('at a level that drops its lines, still gives the agent a working logger', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const logger = createLogger({ level: 'warn', destination });
    const p = pipelineWith(
      {
        status: () => 'configured',
        answer: async (m, c) => {
          c.logger.warn('agent warning');
          return { text: m.text };
        },
      },
      { logger },
    );
    const reply = await p.handle(message);
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ msg: 'agent warning', trace_id: reply.traceId, level: 'warn' }),
    ]);
  });

  it("starts the agent's reads with the rate-limit check, hands them to its answer, and drops them when refused", async () => {
    const prepared: { message: InboundMessage; rejected: Promise<never> }[] = [];
    const seen: unknown[] = [];
    const agent: Agent = {
      status: () => 'configured',
      prepare: (m) => {
        // A read that fails: a refused message must not leave it rejecting unobserved.
        const rejected = Promise.reject(new Error('read failed'));
        rejected.catch(() => undefined);
        const reads = { message: m, rejected };
        prepared.push(reads);
        return reads;
      },
      answer: async (_m, context) => {
        seen.push(context.prepared);
        return { text: 'ok' };
      },
    };
    const pipeline = pipelineWith(agent, { points: 1 });
    const first = pipeline.handle(message);
    // Called in the same turn as the rate-limit check, before it answers.
    expect(prepared).toHaveLength(1);
    expect((await first).text).toBe('ok');
    expect(seen).toEqual([prepared[0]]);
    // Over the limit: the reads were started, the agent is never asked.
    await expect(pipeline.handle({ ...message, text: 'again' })).rejects.toMatchObject({
      code: 'rate_limited',
    });
    expect(prepared).toHaveLength(2);
    expect(seen).toHaveLength(1);
  });
});
