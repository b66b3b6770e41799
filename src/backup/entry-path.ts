import { DATA_FOLDERS } from '../data/layout.js';

/** Name of the manifest inside every archive (at its top level). */
export const MANIFEST_NAME = 'manifest.json';

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_PATH_BYTES = 1024;
const MAX_NAME_BYTES = 255;

/** A checked archive path, or the reason it is refused. */
export type PathCheck = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Checks a path inside an archive (or one about to be written into one): relative, `/`-separated,
 * no `.`/`..`/empty segments, no control characters or backslashes, bounded length, and under
 * `reports/` or `memories/` (or the top-level `manifest.json` file). Directories may end in `/`.
 */
export function checkEntryPath(raw: string, kind: 'file' | 'directory'): PathCheck {
  const fail = (reason: string): PathCheck => ({ ok: false, reason });
  if (typeof raw !== 'string' || raw.length === 0) return fail('empty path');
  if (raw.includes('\0')) return fail('NUL byte in path');
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return fail('absolute path');
  if (raw.includes('\\')) return fail('backslash in path');
  if (CONTROL.test(raw)) return fail('control character in path');
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) return fail(`path longer than ${MAX_PATH_BYTES} bytes`);
  const path = kind === 'directory' && raw.endsWith('/') ? raw.slice(0, -1) : raw;
  const parts = path.split('/');
  if (parts.some((p) => p === '..')) return fail('path traversal (..)');
  if (parts.some((p) => p === '.' || p === '')) return fail('"." or empty segment in path');
  if (parts.some((p) => Buffer.byteLength(p) > MAX_NAME_BYTES))
    return fail(`a name longer than ${MAX_NAME_BYTES} bytes`);
  if (path === MANIFEST_NAME) {
    return kind === 'file' ? { ok: true, path } : fail('manifest.json must be a file');
  }
  if (!(DATA_FOLDERS as readonly string[]).includes(parts[0] as string)) {
    return fail(`outside ${DATA_FOLDERS.map((f) => `${f}/`).join(' and ')}`);
  }
  if (parts.length === 1 && kind === 'file') return fail(`${parts[0]} must be a folder`);
  return { ok: true, path };
}

/** Quotes a path for messages: JSON-escaped and cut to a readable length. */
export function shown(path: string): string {
  const q = JSON.stringify(path);
  return q.length > 120 ? `${q.slice(0, 117)}…"` : q;
}
