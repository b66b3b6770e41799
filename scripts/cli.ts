/**
 * Shared plumbing of the command-line scripts: configuration loading and the mapping from errors
 * to a plain message and an exit status. No ops logic lives here (see src/ops/ops-service.ts).
 */
import { type Config, ConfigError, loadConfig } from '../src/config/config.js';
import { AppError, type ErrorCode } from '../src/core/errors.js';

/** Exit statuses of the scripts (documented in docs/operations.md). */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  invalidArchive: 3,
  notFound: 4,
  locked: 5,
  redisUnavailable: 6,
  config: 78,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  validation_failed: EXIT.usage,
  data_invalid: EXIT.usage,
  backup_invalid: EXIT.invalidArchive,
  backup_not_found: EXIT.notFound,
  data_locked: EXIT.locked,
  redis_unavailable: EXIT.redisUnavailable,
};

/** A command-line mistake: the message is printed with the usage text. */
export class UsageError extends Error {}

/** The configuration, or exit 78 with the message naming every bad variable. */
export function configOrExit(name: string): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${name}: ${err.message}`);
      process.exit(EXIT.config);
    }
    throw err;
  }
}

/** Runs a script's body: prints a plain message and sets a non-zero status on any error. */
export async function runCli(name: string, usage: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    process.exitCode = EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${name}: ${err.message}\n\n${usage}`);
      process.exitCode = EXIT.usage;
    } else if (err instanceof AppError) {
      console.error(`${name}: ${err.message}`);
      process.exitCode = BY_CODE[err.code] ?? EXIT.failed;
    } else {
      console.error(`${name}: unexpected failure: ${(err as Error)?.message ?? String(err)}`);
      process.exitCode = EXIT.failed;
    }
  }
}
