import { join, resolve } from 'node:path';

/**
 * What lives under `DATA_DIR`:
 *
 * ```
 * reports/       Markdown reports            (backed up)
 * memories/      one JSON file per user      (backed up)
 * .tmp/          temporary files of atomic writes; never holds live data
 * .locks/        service-*.json (one per running instance) and restore.json
 * .restore-*     a restore's staging folder (new data, the displaced data and a journal)
 * ```
 * Staging lives inside `DATA_DIR`, beside `reports/` and `memories/`, so the swap is a rename on one
 * file system even when `DATA_DIR` is a Docker volume or a systemd `ReadWritePaths` entry.
 */

/** The folders holding durable data, in backup order. */
export const DATA_FOLDERS = ['reports', 'memories'] as const;
export type DataFolder = (typeof DATA_FOLDERS)[number];

/** Prefix of restore staging folders inside `DATA_DIR`. */
export const STAGING_PREFIX = '.restore-';

/** Absolute paths of the parts of a data folder. */
export interface DataPaths {
  readonly root: string;
  readonly reports: string;
  readonly memories: string;
  readonly tmp: string;
  readonly locks: string;
}

/** The paths under `dataDir` (resolved against the working directory). */
export function dataPaths(dataDir: string): DataPaths {
  const root = resolve(dataDir);
  return {
    root,
    reports: join(root, 'reports'),
    memories: join(root, 'memories'),
    tmp: join(root, '.tmp'),
    locks: join(root, '.locks'),
  };
}
