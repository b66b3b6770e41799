import { isAbsolute, relative } from 'node:path';
import type { ArchiveInfo } from '../backup/archive-files.js';
import type { BackupResult } from '../backup/create-backup.js';
import type { RestoreResult } from '../backup/restore-backup.js';
import type { VerifyResult } from '../backup/verify-backup.js';
import type { ClearCacheResult, OpsStatus } from './ops-service.js';

/**
 * Plain-text renderings of ops results, shared by the command-line scripts and (as message text)
 * by the chat admin commands.
 */

/** `31.2 MiB (32712345 bytes)`-style sizes. */
export function formatBytes(n: number, exact = false): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const short = i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
  return exact && i > 0 ? `${short} (${n} bytes)` : short;
}

/** A path relative to the working directory when it lies below it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** `1 file`, `2 files`; a word without a plain `s` plural names its plural. */
function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** After `createBackup`. */
export function renderBackup(r: BackupResult, keep: number): string {
  return [
    `backup written: ${displayPath(r.path)}`,
    `  size     ${formatBytes(r.sizeBytes, true)}`,
    `  files    ${r.fileCount} (${formatBytes(r.totalBytes)} of data, ${count(r.directoryCount, 'folder')})`,
    `  sha256   ${r.sha256}`,
    `  took     ${seconds(r.durationMs)}`,
    `  kept     the newest ${count(keep, 'backup')}${r.removed.length > 0 ? `; removed ${r.removed.join(', ')}` : ''}`,
    r.fileCount === 0
      ? `  note     ${displayPath(r.dataDir)} holds no files under reports/ or memories/: is DATA_DIR right?`
      : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** `listBackups`. */
export function renderList(list: readonly ArchiveInfo[], backupDir: string, keep: number): string {
  if (list.length === 0) return `no backups in ${displayPath(backupDir)} yet (create one: npm run backup)`;
  const width = Math.max(...list.map((a) => a.name.length));
  const lines = list.map(
    (a) =>
      `  ${a.name.padEnd(width)}  ${a.createdAt.replace('.000Z', 'Z')}  ${formatBytes(a.sizeBytes).padStart(10)}` +
      (a.kind === 'pre_restore' ? '  (data a restore replaced)' : ''),
  );
  return [
    `${count(list.length, 'archive')} in ${displayPath(backupDir)}, newest first (retention keeps ${keep} of each kind):`,
    ...lines,
  ].join('\n');
}

/** `verifyBackup`. */
export function renderVerify(r: VerifyResult): string {
  const m = r.manifest;
  return [
    `OK: ${displayPath(r.path)} is intact; every file matches the manifest`,
    `  created  ${m.created_at} by real-estate-ai ${m.app_version} (format ${m.format_version})`,
    `  files    ${r.fileCount} (${formatBytes(r.totalBytes)}), ${count(r.directoryCount, 'folder')}`,
    `  archive  ${formatBytes(r.sizeBytes, true)}, sha256 ${r.sha256}`,
    `  took     ${seconds(r.durationMs)}`,
  ].join('\n');
}

/** `restoreBackup`, real or dry run. */
export function renderRestore(r: RestoreResult, dataDir: string): string {
  const c = r.changes;
  const changes = `added ${c.added}, changed ${c.changed}, removed ${c.removed}, unchanged ${c.unchanged}`;
  if (r.dryRun) {
    return [
      `dry run: ${displayPath(r.archive)} verified; nothing was changed`,
      `  archive  made ${r.archiveCreatedAt}, ${count(r.fileCount, 'file')} (${formatBytes(r.totalBytes)})`,
      `  would    ${changes} (compared with ${displayPath(dataDir)})`,
      r.holders.length > 0
        ? `  blocked  a service instance holds the data folder (${r.holders.join('; ')}): a restore would refuse unless --force`
        : '  lock     no service instance holds the data folder: a restore can run',
    ].join('\n');
  }
  return [
    `restored ${displayPath(r.archive)} into ${displayPath(dataDir)}`,
    `  files    ${r.fileCount} (${formatBytes(r.totalBytes)}), archive made ${r.archiveCreatedAt}`,
    `  changes  ${changes}`,
    r.preRestore
      ? `  saved    the replaced data as ${displayPath(r.preRestore.path)} (${count(r.preRestore.fileCount, 'file')})`
      : '',
    r.holders.length > 0 ? `  forced   past a running service (${r.holders.join('; ')}): restart it now` : '',
    `  took     ${seconds(r.durationMs)}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** `clearCache`. */
export function renderClear(r: ClearCacheResult): string {
  if (r.scope === 'redis') {
    return `cleared ${count(r.redisDeleted, 'cache entry', 'cache entries')} matching "${r.pattern}" from Redis at ${r.redis}`;
  }
  if (!r.redisReachable) {
    return `Redis is unreachable: cleared ${count(r.memoryDeleted, 'entry', 'entries')} matching "${r.pattern}" from the in-memory cache only`;
  }
  return `cleared ${count(r.redisDeleted, 'cache entry', 'cache entries')} matching "${r.pattern}" from Redis and ${r.memoryDeleted} from memory`;
}

/** `status`. */
export function renderStatus(s: OpsStatus): string {
  const lines = [`real-estate-ai ${s.version}`];
  if (s.health) {
    lines.push(`  status   ${s.health.status} (up ${s.health.uptime_seconds} s)`);
    for (const [name, check] of Object.entries(s.health.checks))
      lines.push(`    ${name.padEnd(11)}${check.status}`);
  }
  if (s.metrics) {
    const m = s.metrics;
    lines.push(
      `  traffic  ${count(m.requests_total, 'request')} in the last ${m.window_seconds} s, error rate ${(m.error_rate * 100).toFixed(1)}%, ` +
        `avg ${m.avg_response_time.toFixed(2)} s, p90 ${m.response_time_seconds.p90.toFixed(2)} s, cache hit rate ${(m.cache_hit_rate * 100).toFixed(0)}%`,
    );
  }
  lines.push(
    s.lastBackup
      ? `  backup   last ${s.lastBackup.name} (${s.lastBackup.createdAt}, ${formatBytes(s.lastBackup.sizeBytes)}); ${s.backupCount} kept of ${s.backupKeep}`
      : '  backup   none yet',
  );
  return lines.join('\n');
}
