/**
 * `npm run backup` — the runbook's `python scripts/backup.py`:
 *   npm run backup                                 create backups/backup_YYYYMMDD_HHMMSS.tar.gz
 *   npm run backup -- list                         list archives, newest first
 *   npm run backup -- verify <archive>             check an archive completely; changes nothing
 *   npm run backup -- restore <archive> [--force] [--dry-run]
 * Add --json for machine-readable output. Everything is done by the ops service.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../src/logging/logger.js';
import { renderBackup, renderList, renderRestore, renderVerify } from '../src/ops/ops-format.js';
import { OpsService } from '../src/ops/ops-service.js';
import { configOrExit, runCli, UsageError } from './cli.js';

const USAGE = `usage: npm run backup [-- create] [--json]
       npm run backup -- list [--json]
       npm run backup -- verify <archive> [--json]
       npm run backup -- restore <archive> [--dry-run] [--force] [--json]

<archive> is a path (backups/backup_20250101_120000.tar.gz) or a name in BACKUP_DIR.
restore verifies first, saves the current data as backup_pre_restore_<time>.tar.gz and refuses
while the service runs (stop it first) unless --force; --dry-run only verifies and compares.`;

await runCli('backup', USAGE, async () => {
  let parsed: {
    values: { force?: boolean; 'dry-run'?: boolean; json?: boolean; help?: boolean };
    positionals: string[];
  };
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      options: {
        force: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const [command = 'create', file, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  if ((values.force || values['dry-run']) && command !== 'restore') {
    throw new UsageError('--force and --dry-run apply to restore only');
  }
  const needsFile = command === 'verify' || command === 'restore';
  if (needsFile && !file) throw new UsageError(`${command} needs the archive to ${command}`);
  if (!needsFile && file) throw new UsageError(`${command} takes no archive argument`);

  const config = configOrExit('backup');
  const logger = createLogger({ level: 'warn', destination: process.stderr });
  const ops = new OpsService({ config, logger });
  const print = (text: string, data: unknown) =>
    console.log(values.json ? JSON.stringify(data, null, 2) : text);
  switch (command) {
    case 'create': {
      const r = await ops.createBackup();
      print(renderBackup(r, config.env.BACKUP_KEEP), { ...r, manifest: undefined });
      return;
    }
    case 'list': {
      const list = await ops.listBackups();
      print(renderList(list, config.env.BACKUP_DIR, config.env.BACKUP_KEEP), list);
      return;
    }
    case 'verify': {
      const r = await ops.verifyBackup(file);
      print(renderVerify(r), { ...r, manifest: { ...r.manifest, files: undefined, directories: undefined } });
      return;
    }
    case 'restore': {
      const r = await ops.restoreBackup(file, { force: values.force, dryRun: values['dry-run'] });
      print(renderRestore(r, config.env.DATA_DIR), {
        ...r,
        preRestore: r.preRestore && { ...r.preRestore, manifest: undefined },
      });
      return;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
});
