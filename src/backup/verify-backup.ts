import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { AppError } from '../core/errors.js';
import { shown } from './entry-path.js';
import { type Manifest, parseManifest } from './manifest.js';
import { gunzipFile } from './parallel-gunzip.js';
import { type EntryHandler, type ReadLimits, TarReader } from './tar-reader.js';

/** A verified archive. */
export interface VerifyResult {
  readonly path: string;
  readonly manifest: Manifest;
  readonly fileCount: number;
  readonly totalBytes: number;
  readonly directoryCount: number;
  /** Size and SHA-256 of the archive file. */
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly durationMs: number;
}

function invalid(message: string): AppError {
  return new AppError('backup_invalid', message);
}

/** Checks that `path` is a non-empty gzip file (`backup_not_found` / `backup_invalid`); returns its size. */
export async function checkArchiveFile(path: string): Promise<number> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw invalid(`${path} is not a regular file`);
    size = info.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AppError('backup_not_found', `no such archive: ${path}`);
    }
    throw err;
  }
  if (size === 0) throw invalid(`${path} is empty (0 bytes): not a backup archive`);
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    if (head[0] !== 0x1f || head[1] !== 0x8b) {
      throw invalid(
        `${path} is not a gzip file (it starts with 0x${head.toString('hex')}); backups are .tar.gz archives`,
      );
    }
  } finally {
    await handle.close();
  }
  return size;
}

/**
 * Reads a whole `.tar.gz` archive through a {@link TarReader} (every entry checked and hashed),
 * handing folders and file contents to `handler` when given. Changes nothing by itself.
 */
async function readArchive(path: string, limits: ReadLimits, handler?: EntryHandler) {
  const sizeBytes = await checkArchiveFile(path);
  const reader = new TarReader(limits, handler);
  const fileHash = createHash('sha256');
  try {
    for await (const chunk of gunzipFile(path, fileHash)) {
      reader.write(chunk);
      await handler?.ready?.();
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e instanceof AppError || !e.code?.startsWith('Z_')) throw err;
    if (e.code === 'Z_BUF_ERROR') throw invalid('the archive is truncated: its gzip data ends early');
    throw invalid(`the archive's gzip data is corrupt (${e.message}): a damaged or altered file`);
  }
  reader.finish();
  return { reader, sizeBytes, sha256: fileHash.digest('hex') };
}

/**
 * Verifies an archive end to end: gzip integrity, every entry safe (see {@link TarReader}),
 * `manifest.json` present and valid, and the manifest agreeing with every file (path, size,
 * SHA-256) and folder in both directions. Throws `backup_invalid` naming the first problems.
 * With a `handler`, the same single read also extracts (the restore's staging step).
 */
export async function verifyArchive(
  path: string,
  limits: ReadLimits,
  handler?: EntryHandler,
): Promise<VerifyResult> {
  const t0 = performance.now();
  const { reader, sizeBytes, sha256 } = await readArchive(path, limits, handler);
  if (reader.manifestText === undefined)
    throw invalid('the archive has no manifest.json: not one of our backups');
  const manifest = parseManifest(reader.manifestText);
  const problems: string[] = [];
  let matched = 0;
  for (const f of manifest.files) {
    const found = reader.files.get(f.path);
    if (!found) problems.push(`the manifest lists ${shown(f.path)} but the archive lacks it`);
    else {
      matched++;
      if (found.size !== f.size)
        problems.push(`${shown(f.path)} is ${found.size} bytes, the manifest says ${f.size}`);
      else if (found.sha256 !== f.sha256)
        problems.push(`${shown(f.path)} does not match its SHA-256 in the manifest`);
    }
  }
  // The manifest lists no path twice (parseManifest), so the archive holds no unlisted file exactly
  // when every archive file was matched; only then is no set of every listed path needed.
  if (matched !== reader.files.size) {
    const listed = new Set(manifest.files.map((f) => f.path));
    for (const p of reader.files.keys()) {
      if (!listed.has(p)) problems.push(`the archive holds ${shown(p)}, which the manifest does not list`);
    }
  }
  const dirs = new Set(manifest.directories);
  for (const d of reader.directories)
    if (!dirs.has(d)) problems.push(`the archive holds folder ${shown(d)}, which the manifest does not list`);
  for (const d of manifest.directories)
    if (!reader.directories.has(d))
      problems.push(`the manifest lists folder ${shown(d)} but the archive lacks it`);
  if (problems.length > 0) {
    const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
    throw invalid(`the archive does not match its manifest: ${problems.slice(0, 5).join('; ')}${more}`);
  }
  return {
    path,
    manifest,
    fileCount: manifest.file_count,
    totalBytes: manifest.total_bytes,
    directoryCount: manifest.directories.length,
    sizeBytes,
    sha256,
    durationMs: Math.round(performance.now() - t0),
  };
}
