import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { TEST_SECRETS } from '../helpers/secrets.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('writes JSON lines with level labels and ISO times', () => {
    const { lines, destination } = capture();
    createLogger({ level: 'info', destination }).info({ a: 1 }, 'hello');
    const line = JSON.parse(lines[0] as string);
    expect(line).toMatchObject({ level: 'info', msg: 'hello', a: 1, service: 'real-estate-ai' });
    expect(new Date(line.time).toISOString()).toBe(line.time);
  });

  it('redacts secrets by path', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination });
    log.info(
      {
        req: {
          headers: { authorization: `Bearer ${TEST_SECRETS.apiKey}`, 'x-api-key': TEST_SECRETS.apiKey2 },
        },
      },
      'r',
    );
    log.info({ client: { apiKey: TEST_SECRETS.openAiKey, token: TEST_SECRETS.rapidApiKey } }, 'c');
    const out = lines.join('');
    for (const s of [
      TEST_SECRETS.apiKey,
      TEST_SECRETS.apiKey2,
      TEST_SECRETS.openAiKey,
      TEST_SECRETS.rapidApiKey,
    ]) {
      expect(out).not.toContain(s);
    }
    expect(out).toContain('[REDACTED]');
  });

  it('scrubs known secret values wherever they appear, even in a message', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination, secrets: [TEST_SECRETS.openAiKey] });
    log.error(
      { err: new Error(`401 for key ${TEST_SECRETS.openAiKey}`) },
      `upstream said ${TEST_SECRETS.openAiKey}`,
    );
    expect(lines.join('')).not.toContain(TEST_SECRETS.openAiKey);
    expect(lines.join('')).toContain('[REDACTED]');
  });
});
