import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAgent } from '../fakes/fake-agent.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { jsonOf } from '../helpers/http.js';
import { TEST_SECRETS } from '../helpers/secrets.js';

/** Sends raw bytes and collects whatever the server answers until it closes (or `waitMs`). */
function rawExchange(port: number, write: (s: Socket) => void, waitMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, waitMs);
    socket.on('data', (d) => {
      data += d.toString('utf8');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('connect', () => write(socket));
  });
}

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
}

function problemOf(raw: string): { code?: string } {
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return JSON.parse(body) as { code?: string };
}

describe('abuse over real sockets', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp({
      agent: new FakeAgent(),
      env: { HTTP_BODY_TIMEOUT_MS: '400', RATE_LIMIT_UNAUTHENTICATED_POINTS: '1000' },
    });
    port = t.app.http.port;
  });
  afterAll(() => t.stop());

  const head = (extra: string) =>
    `POST /v1/chat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_SECRETS.apiKey}\r\nContent-Type: application/json\r\n${extra}\r\n`;

  it('refuses a declared 10 MB body with 413 before reading it', async () => {
    const raw = await rawExchange(port, (s) => {
      s.write(head('Content-Length: 10485760\r\n'));
      s.write('{"message":"');
      s.write('x'.repeat(64 * 1024));
    });
    expect(statusOf(raw)).toBe(413);
    expect(raw).toMatch(/content-type: application\/problem\+json/i);
    expect(problemOf(raw).code).toBe('payload_too_large');
  });

  it('refuses a chunked 10 MB body with 413 once it passes the limit', async () => {
    const chunk = 'x'.repeat(256 * 1024);
    const raw = await rawExchange(port, (s) => {
      s.write(head('Transfer-Encoding: chunked\r\n'));
      for (let i = 0; i < 40 && !s.destroyed; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    });
    expect(statusOf(raw)).toBe(413);
    expect(problemOf(raw).code).toBe('payload_too_large');
  });

  it('answers a slow-loris partial body with 408 at the body deadline', async () => {
    const started = Date.now();
    const raw = await rawExchange(port, (s) => {
      s.write(head('Content-Length: 100\r\n'));
      s.write('{"message":');
      // ...and never the rest.
    });
    expect(statusOf(raw)).toBe(408);
    expect(problemOf(raw).code).toBe('request_timeout');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('answers a malformed request line and a header with a control character with 400 problem JSON', async () => {
    const garbage = await rawExchange(port, (s) => s.write('THIS IS NOT HTTP\r\n\r\n'));
    expect(statusOf(garbage)).toBe(400);
    expect(problemOf(garbage).code).toBe('invalid_header');
    const injected = await rawExchange(port, (s) =>
      s.write(`GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nX-Evil: a\x00b\r\n\r\n`),
    );
    expect(statusOf(injected)).toBe(400);
  });

  it('is still serving after all of that', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_SECRETS.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'still there?' }),
    });
    expect(res.status).toBe(200);
    const health = await fetch(`${t.opsUrl}/health`);
    expect(health.status).toBe(200);
  });

  it('serves its OpenAPI document without a key', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = await jsonOf(res);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/v1/chat'].post.responses['429']).toBeDefined();
    expect(doc.components.schemas.ChatRequest.required).toEqual(['message']);
  });
});
