import { DATA_FOLDERS } from '../data/layout.js';

/** Name of the manifest inside every archive (at its top level). */
export const MANIFEST_NAME = 'manifest.json';

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_PATH_BYTES = 1024;
const MAX_NAME_BYTES = 255;
const SLASH = 0x2f;
const DOT = 0x2e;

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
  if (raw.charCodeAt(0) === SLASH || /^[A-Za-z]:/.test(raw)) return fail('absolute path');
  if (raw.includes('\\')) return fail('backslash in path');
  if (CONTROL.test(raw)) return fail('control character in path');
  if (byteLengthOver(raw, 0, raw.length, MAX_PATH_BYTES))
    return fail(`path longer than ${MAX_PATH_BYTES} bytes`);
  const end = kind === 'directory' && raw.endsWith('/') ? raw.length - 1 : raw.length;
  // One pass over the segments (no array of them: this runs for every entry of a restore).
  let dotDot = false;
  let dotOrEmpty = false;
  let longName = false;
  let segments = 0;
  let firstEnd = end;
  for (let from = 0; from <= end; segments++) {
    let to = raw.indexOf('/', from);
    if (to === -1 || to > end) to = end;
    if (segments === 0) firstEnd = to;
    const n = to - from;
    if (n === 0) dotOrEmpty = true;
    else if (raw.charCodeAt(from) === DOT && (n === 1 || (n === 2 && raw.charCodeAt(from + 1) === DOT))) {
      if (n === 2) dotDot = true;
      else dotOrEmpty = true;
    } else if (byteLengthOver(raw, from, to, MAX_NAME_BYTES)) longName = true;
    from = to + 1;
  }
  if (dotDot) return fail('path traversal (..)');
  if (dotOrEmpty) return fail('"." or empty segment in path');
  if (longName) return fail(`a name longer than ${MAX_NAME_BYTES} bytes`);
  const path = end === raw.length ? raw : raw.slice(0, end);
  if (path === MANIFEST_NAME) {
    return kind === 'file' ? { ok: true, path } : fail('manifest.json must be a file');
  }
  const top = raw.slice(0, firstEnd);
  if (!(DATA_FOLDERS as readonly string[]).includes(top)) {
    return fail(`outside ${DATA_FOLDERS.map((f) => `${f}/`).join(' and ')}`);
  }
  if (segments === 1 && kind === 'file') return fail(`${top} must be a folder`);
  return { ok: true, path };
}

/** True when `s[from, to)` takes more than `max` bytes in UTF-8 (counted only when it might). */
function byteLengthOver(s: string, from: number, to: number, max: number): boolean {
  const n = to - from;
  if (n * 3 <= max) return false;
  if (n > max) return true;
  return Buffer.byteLength(from === 0 && to === s.length ? s : s.slice(from, to)) > max;
}

/** Quotes a path for messages: JSON-escaped and cut to a readable length. */
export function shown(path: string): string {
  const q = JSON.stringify(path);
  return q.length > 120 ? `${q.slice(0, 117)}…"` : q;
}
