/**
 * The service as production runs it: the tsc build in dist/ (`npm start` runs
 * `node dist/src/main.js`), not the TypeScript sources through tsx. tsx compiles with esbuild's
 * keepNames, which wraps every function created at run time in a `__name()` call; on the HTTP hot
 * path that alone cost about a fifth more CPU per request than the build. `npm run bench` builds
 * first. Types come from the sources, code from the build.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as CreateApp from '../src/app/create-app.js';
import type * as CreateBackup from '../src/backup/create-backup.js';
import type * as RestoreBackup from '../src/backup/restore-backup.js';
import type * as ClearPattern from '../src/cache/clear-pattern.js';
import type * as Config from '../src/config/config.js';
import type * as Logger from '../src/logging/logger.js';

/** The build's folder. */
export const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

async function load<T>(module: string): Promise<T> {
  const file = join(dist, module);
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" (npm run bench does)`);
  return (await import(pathToFileURL(file).href)) as T;
}

export const { createApp } = await load<typeof CreateApp>('src/app/create-app.js');
export const { configFrom } = await load<typeof Config>('src/config/config.js');
export const { createLogger } = await load<typeof Logger>('src/logging/logger.js');
export const { createBackup } = await load<typeof CreateBackup>('src/backup/create-backup.js');
export const { restoreBackup } = await load<typeof RestoreBackup>('src/backup/restore-backup.js');
export const { cacheClearPattern } = await load<typeof ClearPattern>('src/cache/clear-pattern.js');
export type { App } from '../src/app/create-app.js';
