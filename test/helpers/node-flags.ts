import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The V8 flags `npm start` runs the service with, read from package.json's start script
 * (`… exec node <flags> dist/src/main.js`): the benchmarks run with them, and a test checks the
 * Dockerfile and the systemd unit use the same.
 */
export function startNodeFlags(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const flags = /exec node ((?:--\S+ )*)dist\/src\/main\.js/.exec(pkg.scripts.start)?.[1]?.trim();
  return flags ? flags.split(' ') : [];
}
