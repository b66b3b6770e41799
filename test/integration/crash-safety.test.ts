import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReportHead } from '../../src/data/report-format.js';
import { tempDir } from '../helpers/data-files.js';
import { transpileGraph } from '../helpers/transpile.js';

const ROOT = join(import.meta.dirname, '..', '..');
const KILLS = 50;
const PARALLEL = 5;

/** Starts a writer, waits until it writes, lets it run 0-120 ms more, then SIGKILLs it. */
function runAndKill(writer: string, dataDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.stdout.on('data', (c: Buffer) => {
      if (c.toString().includes('ready')) setTimeout(() => child.kill('SIGKILL'), Math.random() * 120);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited by itself (${code}): ${stderr}`));
    });
  });
}

/** Every live file parses and is internally consistent; returns each user's counter. */
function checkIntegrity(dataDir: string): Map<string, number> {
  const counters = new Map<string, number>();
  for (const name of readdirSync(join(dataDir, 'memories'))) {
    expect(name).toMatch(/^[A-Za-z0-9_-]+\.json$/);
    const text = readFileSync(join(dataDir, 'memories', name), 'utf8');
    const record = JSON.parse(text) as {
      revision: number;
      user_id: string;
      data: { counter: number; blob: string; digest: string };
    };
    expect(record.data.counter).toBe(record.revision);
    expect(createHash('sha256').update(record.data.blob).digest('hex')).toBe(record.data.digest);
    counters.set(record.user_id, record.revision);
  }
  for (const name of readdirSync(join(dataDir, 'reports'))) {
    expect(name).toMatch(/^\d{8}-\d{6}-[a-z0-9-]+\.md$/);
    const text = readFileSync(join(dataDir, 'reports', name), 'utf8');
    const head = parseReportHead(text);
    expect(head).toBeDefined();
    const body = text.slice(head?.bodyStart);
    const [digest, content] = body.split('\n');
    expect(
      createHash('sha256')
        .update(content ?? '')
        .digest('hex'),
    ).toBe(digest);
  }
  return counters;
}

describe('crash safety', () => {
  const t = tempDir('rea-crash-');
  let writer: string;
  beforeAll(() => {
    mkdirSync(join(t.dir, 'js'));
    writer = transpileGraph(join(ROOT, 'test', 'helpers', 'memory-writer.ts'), join(t.dir, 'js'));
  });
  afterAll(() => t.remove());

  it(`a writer SIGKILLed at random moments ${KILLS} times never leaves a partial or unparsable file`, async () => {
    const dirs = Array.from({ length: PARALLEL }, (_, i) => join(t.dir, `data-${i}`));
    const last = dirs.map(() => new Map<string, number>());
    let kills = 0;
    await Promise.all(
      dirs.map(async (dir, i) => {
        for (let round = 0; round < KILLS / PARALLEL; round++) {
          await runAndKill(writer, dir);
          kills++;
          const counters = checkIntegrity(dir);
          // Old or new, never older than what was already on disk: nothing went backwards.
          for (const [user, n] of last[i] as Map<string, number>)
            expect(counters.get(user) ?? 0).toBeGreaterThanOrEqual(n);
          last[i] = counters;
        }
      }),
    );
    expect(kills).toBe(KILLS);
    const users = last.reduce((s, m) => s + m.size, 0);
    expect(users).toBeGreaterThan(0);
  }, 180_000);
});
