import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { delayed, FakeAgent } from '../fakes/fake-agent.js';
import { authHeaders, startTestApp, testEnv } from '../helpers/app.js';
import { jsonOf } from '../helpers/http.js';
import { logFilePath } from '../helpers/logs.js';
import { freePort } from '../helpers/redis-server.js';

describe('graceful shutdown (in process)', () => {
  it('finishes in-flight work, then refuses new connections, and closes Redis', async () => {
    const t = await startTestApp({ agent: new FakeAgent(delayed(400, 'finished')) });
    const inflight = fetch(`${t.baseUrl}/v1/chat`, {
      method: 'POST',
      headers: authHeaders(),
      body: JSON.stringify({ message: 'slow' }),
    });
    await new Promise((r) => setTimeout(r, 100));
    const stopping = t.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(`${t.opsUrl}/health`).catch(() => undefined))?.status ?? 503).toBe(503);
    const res = await inflight;
    expect(res.status).toBe(200);
    expect((await jsonOf(res)).reply).toBe('finished');
    await stopping;
    expect(t.app.http.app.server.listening).toBe(false);
    expect(t.app.ops.server.listening).toBe(false);
    expect(t.app.core.connection.client.status).toBe('end');
  });

  it('aborts work that outlives SHUTDOWN_TIMEOUT_MS and still stops within the bound', async () => {
    const t = await startTestApp({
      agent: new FakeAgent(delayed(30_000)),
      env: { SHUTDOWN_TIMEOUT_MS: '300' },
    });
    const inflight = fetch(`${t.baseUrl}/v1/chat`, {
      method: 'POST',
      headers: authHeaders(),
      body: JSON.stringify({ message: 'forever' }),
    });
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await Promise.all([t.stop(), inflight.then((r) => r.arrayBuffer()).catch(() => undefined)]);
    expect(Date.now() - started).toBeLessThan(2500);
  });
});

function waitForExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function waitForHttp(url: string, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('the service process', () => {
  it('starts from src/main.ts, serves /health, and exits 0 on SIGTERM', async () => {
    const [port, opsPort] = [await freePort(), await freePort()];
    const env = testEnv({ PORT: String(port), OPS_PORT: String(opsPort), LOG_LEVEL: 'info' });
    const log = createWriteStream(logFilePath('main-process'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d) => {
      output += d;
      log.write(d);
    });
    child.stderr?.on('data', (d) => {
      output += d;
      log.write(d);
    });
    try {
      const health = await waitForHttp(`http://127.0.0.1:${opsPort}/health`, 20_000);
      expect(health.status).toBe(200);
      const chat = await fetch(`http://127.0.0.1:${port}/v1/chat`, {
        method: 'POST',
        headers: authHeaders(),
        body: JSON.stringify({ message: 'hi' }),
      });
      expect(chat.status).toBe(503);
      expect((await jsonOf(chat)).code).toBe('llm_not_configured');
      child.kill('SIGTERM');
      expect(await waitForExit(child)).toBe(0);
      expect(output).toContain('"msg":"stopped"');
    } finally {
      child.kill('SIGKILL');
      log.end();
    }
  });

  it('refuses to start on an invalid variable, naming it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, PORT: 'not-a-port' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    expect(await waitForExit(child)).toBe(78);
    expect(stderr).toContain('PORT: must be a whole number (got "not-a-port")');
  });
});
