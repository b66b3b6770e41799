import { z } from 'zod';
import { AppError } from '../core/errors.js';
import { checkEntryPath } from './entry-path.js';

/** The `format` field of every manifest. */
export const BACKUP_FORMAT = 'real-estate-ai-backup';
/** The manifest version this program writes and the newest it reads. */
export const BACKUP_FORMAT_VERSION = 1;

/** One file in an archive. */
export interface ManifestFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * `manifest.json`: what the archive holds. It is the archive's last entry (it is written after
 * every file has been read and hashed), and readers accept it anywhere.
 */
export interface Manifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly format_version: number;
  /** ISO 8601 (UTC) time the backup started. */
  readonly created_at: string;
  readonly app_version: string;
  readonly file_count: number;
  readonly total_bytes: number;
  /** Every folder under reports/ and memories/, the two top folders included. */
  readonly directories: readonly string[];
  readonly files: readonly ManifestFile[];
}

const schema = z.object({
  format: z.literal(BACKUP_FORMAT),
  format_version: z.number().int().min(1),
  created_at: z.string().min(1).max(64),
  app_version: z.string().max(64),
  file_count: z.number().int().min(0),
  total_bytes: z.number().int().min(0),
  directories: z.array(z.string()),
  files: z.array(
    z.object({
      path: z.string(),
      size: z.number().int().min(0),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});

function invalid(message: string): AppError {
  return new AppError('backup_invalid', `manifest.json: ${message}`);
}

/** Parses and checks a manifest; throws `backup_invalid` naming what is wrong. */
export function parseManifest(text: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid('not valid JSON');
  }
  const version = (raw as { format_version?: unknown } | null)?.format_version;
  if (typeof version === 'number' && version > BACKUP_FORMAT_VERSION) {
    throw invalid(
      `format version ${version} is newer than this program reads (${BACKUP_FORMAT_VERSION}); upgrade first`,
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const m = parsed.data;
  const seen = new Set<string>();
  for (const f of m.files) {
    const check = checkEntryPath(f.path, 'file');
    if (!check.ok || check.path === 'manifest.json')
      throw invalid(`lists an unsafe file path (${check.ok ? 'manifest.json' : check.reason})`);
    if (seen.has(f.path)) throw invalid(`lists ${JSON.stringify(f.path)} twice`);
    seen.add(f.path);
  }
  for (const d of m.directories) {
    const check = checkEntryPath(d, 'directory');
    if (!check.ok || check.path !== d)
      throw invalid(`lists an unsafe folder path (${check.ok ? d : check.reason})`);
  }
  if (m.file_count !== m.files.length)
    throw invalid(`file_count ${m.file_count} but ${m.files.length} files listed`);
  const total = m.files.reduce((s, f) => s + f.size, 0);
  if (m.total_bytes !== total) throw invalid(`total_bytes ${m.total_bytes} but the files add up to ${total}`);
  return m as Manifest;
}
