import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentWorld, startAgentWorld } from '../helpers/agent.js';

type Done = (err?: Error | null) => void;
type WriteChunks = (chunks: { chunk: unknown }[], callback: Done) => void;
type WriteOne = (chunk: unknown, encoding: BufferEncoding, callback: Done) => void;

/**
 * A message's first trip to Redis: the pipeline's rate-limit check and the agent's reads (its
 * conversation, a stored answer) leave in the same write, so they cost one round trip instead of
 * two (see Agent.prepare).
 */
describe("a message's first Redis round trip", () => {
  let w: AgentWorld;
  beforeAll(async () => {
    w = await startAgentWorld();
  });
  afterAll(async () => {
    await w.close();
  });

  it("carries the rate-limit check together with the agent's reads", async () => {
    w.openai.setDefault({ content: 'Hello.' });
    // Connected and warm: the writes below are this message's only.
    expect((await w.chat({ message: 'warm up', user_id: 'u-warm', conversation_id: 'c-warm' })).status).toBe(
      200,
    );
    const socket = w.t.app.core.connection.client.stream as Socket & {
      _writev: WriteChunks;
      _write: WriteOne;
    };
    // Each socket write, as Redis receives it: several commands (corked) or one.
    const writes: string[] = [];
    const original = { writev: socket._writev, write: socket._write };
    socket._writev = function (this: Socket, chunks, callback) {
      writes.push(chunks.map((c) => String(c.chunk)).join(''));
      return original.writev.call(this, chunks, callback);
    };
    socket._write = function (this: Socket, chunk, encoding, callback) {
      writes.push(String(chunk));
      return original.write.call(this, chunk, encoding, callback);
    };
    try {
      const reply = await w.chat({
        message: 'Is Austin a good place to buy?',
        user_id: 'u-trip',
        conversation_id: 'c-trip',
      });
      expect(reply.status).toBe(200);
    } finally {
      socket._writev = original.writev;
      socket._write = original.write;
    }
    const first = writes.find((x) => /evalsha/i.test(x) && x.includes('rl:'));
    expect(first, `writes: ${JSON.stringify(writes).slice(0, 2000)}`).toBeDefined();
    expect(first).toMatch(/lrange/i);
    expect(first).toMatch(/:conv:[0-9a-f]+:[0-9a-f]+/);
    expect(first).toContain(':cache:answer:');
  });
});
