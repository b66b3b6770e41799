import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { inject } from 'vitest';
import { createLogger, type Logger } from '../../src/logging/logger.js';

/** A logger writing to the run's log folder, so the global teardown audits it for secrets. No scrubber: leaks must not happen at all. */
export function testLogger(name = 'test'): {
  logger: Logger;
  file: string;
  lines: () => Record<string, unknown>[];
} {
  const file = join(inject('logDir'), `${name}-${process.pid}-${randomUUID().slice(0, 8)}.ndjson`);
  const logger = createLogger({
    level: 'debug',
    destination: pino.destination({ dest: file, sync: true, mkdir: true }),
  });
  return {
    logger,
    file,
    lines: () =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Path for a child process's captured output inside the audited log folder. */
export function logFilePath(name: string): string {
  return join(inject('logDir'), `${name}-${process.pid}-${randomUUID().slice(0, 8)}.ndjson`);
}
