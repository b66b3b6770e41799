import { describe, expect, it } from 'vitest';
import { checkEntryPath, type PathCheck } from '../../src/backup/entry-path.js';

/**
 * The rules of checkEntryPath written the plain way (split, then one test per rule, in the order
 * the reasons take precedence): the oracle the one-pass version must match on every input.
 */
function reference(raw: string, kind: 'file' | 'directory'): PathCheck {
  const fail = (reason: string): PathCheck => ({ ok: false, reason });
  if (raw.length === 0) return fail('empty path');
  if (raw.includes('\0')) return fail('NUL byte in path');
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return fail('absolute path');
  if (raw.includes('\\')) return fail('backslash in path');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(raw)) return fail('control character in path');
  if (Buffer.byteLength(raw) > 1024) return fail('path longer than 1024 bytes');
  const path = kind === 'directory' && raw.endsWith('/') ? raw.slice(0, -1) : raw;
  const parts = path.split('/');
  if (parts.some((p) => p === '..')) return fail('path traversal (..)');
  if (parts.some((p) => p === '.' || p === '')) return fail('"." or empty segment in path');
  if (parts.some((p) => Buffer.byteLength(p) > 255)) return fail('a name longer than 255 bytes');
  if (path === 'manifest.json')
    return kind === 'file' ? { ok: true, path } : fail('manifest.json must be a file');
  if (parts[0] !== 'reports' && parts[0] !== 'memories') return fail('outside reports/ and memories/');
  if (parts.length === 1 && kind === 'file') return fail(`${parts[0]} must be a folder`);
  return { ok: true, path };
}

const TOKENS = [
  'reports',
  'memories',
  'manifest.json',
  '..',
  '.',
  '',
  '...',
  '.hidden',
  'a..b',
  'file.md',
  'ü',
  '日本',
  '🏠',
  'a\\b',
  'x\0y',
  'tab\there',
  'del\u007f',
  'C:',
  'x'.repeat(255),
  'x'.repeat(256),
  'é'.repeat(127),
  'é'.repeat(128),
  '日'.repeat(85),
  '日'.repeat(86),
  '🏠'.repeat(63),
  '🏠'.repeat(64),
];

describe('checkEntryPath', () => {
  it('gives the same answer and reason as the plain rules on 20,000 generated paths', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const parts: string[] = [];
      const count = 1 + rnd(5);
      for (let k = 0; k < count; k++)
        parts.push(
          k === 0 && rnd(3) > 0 ? (rnd(2) ? 'reports' : 'memories') : (TOKENS[rnd(TOKENS.length)] as string),
        );
      let raw = parts.join('/');
      if (rnd(10) === 0) raw = `/${raw}`;
      if (rnd(6) === 0) raw = `${raw}/`;
      if (rnd(40) === 0)
        raw = `${raw}/${'y'.repeat(200)}/${'z'.repeat(200)}/${'w'.repeat(200)}/${'v'.repeat(250)}`;
      for (const kind of ['file', 'directory'] as const) {
        const got = checkEntryPath(raw, kind);
        expect(got, `${JSON.stringify(raw)} as a ${kind}`).toEqual(reference(raw, kind));
        if (got.ok) accepted++;
      }
    }
    // Both outcomes are well represented, so agreement means something.
    expect(accepted).toBeGreaterThan(4000);
    expect(accepted).toBeLessThan(36_000);
  });

  it('accepts the data folders and refuses what would leave them', () => {
    expect(checkEntryPath('reports/a/b.md', 'file')).toEqual({ ok: true, path: 'reports/a/b.md' });
    expect(checkEntryPath('memories/', 'directory')).toEqual({ ok: true, path: 'memories' });
    expect(checkEntryPath('reports/../../etc/passwd', 'file')).toEqual({
      ok: false,
      reason: 'path traversal (..)',
    });
    expect(checkEntryPath('/etc/passwd', 'file')).toEqual({ ok: false, reason: 'absolute path' });
    expect(checkEntryPath('etc/passwd', 'file')).toEqual({
      ok: false,
      reason: 'outside reports/ and memories/',
    });
  });
});
