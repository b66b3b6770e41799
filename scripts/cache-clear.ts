/**
 * `npm run cache:clear -- '<pattern>'` — the runbook's `cache_clear_pattern(...)` from a shell:
 * deletes the cache entries matching the glob (default `realty_us:*`; `*` empties the cache) in the
 * Redis of REDIS_URL and prints how many went. Only cache entries are touched. A running process's
 * in-memory cache (degraded mode) is cleared by the /realty-clear-cache chat command instead.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../src/logging/logger.js';
import { renderClear } from '../src/ops/ops-format.js';
import { DEFAULT_CACHE_PATTERN, OpsService } from '../src/ops/ops-service.js';
import { configOrExit, runCli, UsageError } from './cli.js';

const USAGE = `usage: npm run cache:clear [-- '<pattern>'] [--json]

<pattern> is a glob over cache entry names (<source>:<hash>): 'realty_us:*' (the default)
clears Realty US API responses, '*' empties the whole cache. Quote it so the shell leaves it alone.`;

await runCli('cache:clear', USAGE, async () => {
  let parsed: { values: { json?: boolean; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return;
  }
  const [pattern = DEFAULT_CACHE_PATTERN, ...extra] = parsed.positionals;
  if (extra.length > 0) {
    throw new UsageError(
      `one pattern at a time (got ${parsed.positionals.length}); did the shell expand an unquoted *?`,
    );
  }
  const config = configOrExit('cache:clear');
  const ops = new OpsService({
    config,
    logger: createLogger({ level: 'warn', destination: process.stderr }),
  });
  const r = await ops.clearCache(pattern);
  console.log(parsed.values.json ? JSON.stringify(r, null, 2) : renderClear(r));
});
