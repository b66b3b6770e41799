import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type ArchiveInfo, listArchives } from '../backup/archive-files.js';
import { type BackupResult, createBackup } from '../backup/create-backup.js';
import { type RestoreResult, restoreBackup } from '../backup/restore-backup.js';
import type { ReadLimits } from '../backup/tar-reader.js';
import { type VerifyResult, verifyArchive } from '../backup/verify-backup.js';
import type { Cache } from '../cache/cache.js';
import type { Config } from '../config/config.js';
import { AppError } from '../core/errors.js';
import { describeHolder } from '../data/data-lock.js';
import { KeyedMutex } from '../data/record-lock.js';
import type { Logger } from '../logging/logger.js';
import type { MetricsJson, ServiceMetrics } from '../metrics/service-metrics.js';
import { VERSION } from '../version.js';
import type { HealthReport, HealthReporter } from './health.js';

/** The pattern `npm run cache:clear` and `/realty-clear-cache` use when none is given. */
export const DEFAULT_CACHE_PATTERN = 'realty_us:*';

/** Options for {@link OpsService}. */
export interface OpsServiceOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** The running service's cache: clearing then also empties its memory store. Absent in scripts. */
  readonly cache?: Cache;
  readonly health?: HealthReporter;
  readonly metrics?: ServiceMetrics;
  readonly version?: string;
}

/** Options of a restore. */
export interface RestoreRequest {
  /** Restore even though a service instance holds the data folder. */
  readonly force?: boolean;
  /** Verify and compare only; change nothing. */
  readonly dryRun?: boolean;
}

/** What clearing the cache did. */
export interface ClearCacheResult {
  readonly pattern: string;
  readonly redisDeleted: number;
  readonly memoryDeleted: number;
  readonly redisReachable: boolean;
  /** `service`: the running service's cache (Redis and memory); `redis`: Redis only, from a script. */
  readonly scope: 'service' | 'redis';
  readonly redis: string;
  readonly durationMs: number;
}

/** `status()`: health, traffic summary and the last backup. */
export interface OpsStatus {
  readonly version: string;
  readonly health?: HealthReport;
  readonly metrics?: Pick<
    MetricsJson,
    | 'window_seconds'
    | 'requests_total'
    | 'error_rate'
    | 'avg_response_time'
    | 'cache_hit_rate'
    | 'rate_limited_total'
    | 'response_time_seconds'
  >;
  readonly lastBackup: ArchiveInfo | null;
  readonly backupCount: number;
  readonly backupKeep: number;
}

/**
 * The one ops service behind `npm run backup` / `npm run cache:clear` and the Slack and Discord
 * admin commands (`/realty-backup`, `/realty-clear-cache`, `/realty-status`). Adapters and scripts
 * only parse input and render results; everything else happens here.
 */
export class OpsService {
  private readonly serial = new KeyedMutex();
  private readonly version: string;

  constructor(private readonly options: OpsServiceOptions) {
    this.version = options.version ?? VERSION;
  }

  private get env() {
    return this.options.config.env;
  }

  /** Limits applied when reading archives (BACKUP_MAX_FILE_BYTES, BACKUP_MAX_TOTAL_BYTES). */
  get readLimits(): ReadLimits {
    return { maxFileBytes: this.env.BACKUP_MAX_FILE_BYTES, maxTotalBytes: this.env.BACKUP_MAX_TOTAL_BYTES };
  }

  /** Writes a new backup archive of DATA_DIR into BACKUP_DIR (one at a time per process). */
  async createBackup(): Promise<BackupResult> {
    return this.serial.run('archive', async () => {
      const result = await createBackup({
        dataDir: this.env.DATA_DIR,
        backupDir: this.env.BACKUP_DIR,
        keep: this.env.BACKUP_KEEP,
        appVersion: this.version,
        gzipLevel: this.env.BACKUP_GZIP_LEVEL,
        maxFileBytes: this.env.BACKUP_MAX_FILE_BYTES,
        maxTotalBytes: this.env.BACKUP_MAX_TOTAL_BYTES,
      });
      this.options.logger.info(
        {
          backup: {
            name: result.name,
            files: result.fileCount,
            bytes: result.sizeBytes,
            sha256: result.sha256,
            removed: result.removed,
          },
        },
        'backup written',
      );
      return result;
    });
  }

  /** Archives in BACKUP_DIR, newest first. */
  listBackups(): Promise<ArchiveInfo[]> {
    return listArchives(this.env.BACKUP_DIR);
  }

  /**
   * The archive a user named: a path as given (relative to the working directory), or a bare
   * name looked up in BACKUP_DIR. Throws `validation_failed` when nothing was named.
   */
  async resolveArchive(file: string | undefined): Promise<string> {
    if (file === undefined || file.trim() === '') {
      throw new AppError(
        'validation_failed',
        'name the archive, e.g. backups/backup_YYYYMMDD_HHMMSS.tar.gz (see: npm run backup -- list)',
      );
    }
    const direct = resolve(file);
    if (
      file.includes('/') ||
      (await stat(direct).then(
        () => true,
        () => false,
      ))
    )
      return direct;
    return join(resolve(this.env.BACKUP_DIR), basename(file));
  }

  /** Reads a whole archive and checks it against its manifest; changes nothing. */
  async verifyBackup(file: string | undefined): Promise<VerifyResult> {
    const path = await this.resolveArchive(file);
    return verifyArchive(path, this.readLimits);
  }

  /** Verifies, then restores an archive into DATA_DIR (see restoreBackup for every safeguard). */
  async restoreBackup(file: string | undefined, request: RestoreRequest = {}): Promise<RestoreResult> {
    const path = await this.resolveArchive(file);
    const log = this.options.logger;
    return this.serial.run('archive', async () => {
      const result = await restoreBackup({
        archive: path,
        dataDir: this.env.DATA_DIR,
        backupDir: this.env.BACKUP_DIR,
        keep: this.env.BACKUP_KEEP,
        appVersion: this.version,
        gzipLevel: this.env.BACKUP_GZIP_LEVEL,
        limits: this.readLimits,
        force: request.force,
        dryRun: request.dryRun,
        onStale: (h) => log.info(`removed a stale data folder lock (${describeHolder(h)}: process gone)`),
      });
      if (!result.dryRun) {
        const level = result.holders.length > 0 ? 'warn' : 'info';
        log[level](
          {
            restore: {
              archive: basename(path),
              files: result.fileCount,
              pre_restore: result.preRestore?.name,
              forced_past: result.holders,
            },
          },
          'backup restored',
        );
      }
      return result;
    });
  }

  /**
   * Deletes the cache entries matching the glob. In the service, the running cache clears Redis and
   * its memory store; from a script, Redis is cleared directly and `redis_unavailable` is thrown
   * when it cannot be reached.
   */
  async clearCache(pattern: string = DEFAULT_CACHE_PATTERN): Promise<ClearCacheResult> {
    const t0 = performance.now();
    // Loaded on use: scripts that never clear the cache do not pay for the Redis client's start-up.
    const { cacheClearPattern, redisTarget } = await import('../cache/clear-pattern.js');
    const redis = redisTarget(this.env.REDIS_URL);
    let result: ClearCacheResult;
    if (this.options.cache) {
      let r: Awaited<ReturnType<Cache['clearPattern']>>;
      try {
        r = await this.options.cache.clearPattern(pattern);
      } catch (err) {
        if (err instanceof RangeError) throw new AppError('validation_failed', err.message);
        throw err;
      }
      result = { pattern, ...r, scope: 'service', redis, durationMs: Math.round(performance.now() - t0) };
    } else {
      const r = await cacheClearPattern(pattern, { config: this.options.config });
      result = {
        pattern,
        redisDeleted: r.deleted,
        memoryDeleted: 0,
        redisReachable: true,
        scope: 'redis',
        redis,
        durationMs: r.durationMs,
      };
    }
    this.options.logger.info(
      { cache_clear: { pattern, redis_deleted: result.redisDeleted, memory_deleted: result.memoryDeleted } },
      'cache cleared',
    );
    return result;
  }

  /** Health (in the service), the metrics window summary and the newest backup. */
  async status(): Promise<OpsStatus> {
    const backups = (await this.listBackups()).filter((b) => b.kind === 'backup');
    const m = this.options.metrics?.json();
    return {
      version: this.version,
      health: this.options.health?.report(),
      metrics: m && {
        window_seconds: m.window_seconds,
        requests_total: m.requests_total,
        error_rate: m.error_rate,
        avg_response_time: m.avg_response_time,
        cache_hit_rate: m.cache_hit_rate,
        rate_limited_total: m.rate_limited_total,
        response_time_seconds: m.response_time_seconds,
      },
      lastBackup: backups[0] ?? null,
      backupCount: backups.length,
      backupKeep: this.env.BACKUP_KEEP,
    };
  }
}
