import { describe, expect, it } from 'vitest';
import { archiveName, parseArchiveName } from '../../src/backup/archive-files.js';
import { checkEntryPath } from '../../src/backup/entry-path.js';
import { parseManifest } from '../../src/backup/manifest.js';
import { KeyedMutex } from '../../src/data/record-lock.js';
import { parseReportHead, renderReport } from '../../src/data/report-format.js';
import { assertUserId, isReportId, newReportId, userFileName } from '../../src/data/safe-names.js';
import { manifestOf } from '../helpers/tar-build.js';

describe('safe names', () => {
  it('maps user ids to bounded, separator-free, distinct file names', () => {
    const ids = [
      'slack:T1:U1',
      'slack:T1:U1 ',
      '../../etc/passwd',
      '/',
      '..',
      'a/b',
      'a\\b',
      'ü'.repeat(256),
      'x'.repeat(256),
    ];
    const names = ids.map(userFileName);
    expect(new Set(names).size).toBe(ids.length);
    for (const n of names) {
      expect(n).toMatch(/^[A-Za-z0-9_-]{1,65}$/);
      expect(n).not.toContain('..');
    }
    expect(userFileName('slack:T1:U1')).toMatch(/^slack-T1-U1-[0-9a-f]{24}$/);
  });

  it('rejects empty, overlong, control-character and malformed user ids', () => {
    for (const bad of ['', ' ', 'x'.repeat(257), 'a\nb', 'a\u0000b', '\u0085', '\udc00']) {
      expect(() => assertUserId(bad), JSON.stringify(bad)).toThrow(/user id must be/);
    }
    expect(() => assertUserId(42)).toThrow();
  });

  it('makes report ids that sort by time and are recognised', () => {
    const id = newReportId('Übersicht: 3 Häuser / Zürich', new Date('2025-12-31T23:59:58Z'), 'deadbeef');
    expect(id).toBe('20251231-235958-ubersicht-3-hauser-zurich-deadbeef');
    expect(isReportId(id)).toBe(true);
    for (const bad of ['../x', `${id}/..`, `${id}.md`, '20251231-235958--deadbeef', '/etc/passwd', '']) {
      expect(isReportId(bad), bad).toBe(false);
    }
  });

  it('round-trips report front matter with any characters in title and author', () => {
    const r = {
      id: 'i',
      title: 'a "quoted"\\ title ---',
      author: 'x:\n---',
      createdAt: '2025-01-01T00:00:00.000Z',
      body: '---\nbody',
    };
    const head = parseReportHead(renderReport(r));
    expect(head?.fields).toEqual({ id: 'i', title: r.title, author: r.author, created_at: r.createdAt });
    expect(renderReport(r).slice(head?.bodyStart)).toBe('---\nbody');
    expect(parseReportHead('no front matter')).toBeUndefined();
  });
});

describe('archive paths', () => {
  it('accepts data paths and the manifest', () => {
    for (const p of ['reports/a.md', 'memories/x/y/z.json', 'memories/ünï code.json', 'manifest.json']) {
      expect(checkEntryPath(p, 'file')).toEqual({ ok: true, path: p });
    }
    expect(checkEntryPath('reports/', 'directory')).toEqual({ ok: true, path: 'reports' });
  });

  it.each([
    ['/etc/passwd', 'absolute path'],
    ['C:/x', 'absolute path'],
    ['reports/../../x', 'path traversal'],
    ['..', 'path traversal'],
    ['reports/./x', 'empty segment'],
    ['reports//x', 'empty segment'],
    ['reports\\x', 'backslash'],
    ['reports/a\nb', 'control character'],
    ['etc/passwd', 'outside reports/ and memories/'],
    ['.locks/x', 'outside'],
    ['reports', 'must be a folder'],
    [`reports/${'a'.repeat(256)}`, 'longer than 255'],
    [`reports/${'a/'.repeat(600)}x`, 'longer than 1024'],
  ])('refuses %j (%s)', (path, reason) => {
    const r = checkEntryPath(path, 'file');
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toContain(reason);
  });

  it('names archives in UTC and parses only our names', () => {
    expect(archiveName('backup', new Date('2025-06-07T08:09:10.999Z'))).toBe('backup_20250607_080910.tar.gz');
    expect(archiveName('pre_restore', new Date('2025-06-07T08:09:10Z'))).toBe(
      'backup_pre_restore_20250607_080910.tar.gz',
    );
    expect(parseArchiveName('backup_20250607_080910.tar.gz')?.kind).toBe('backup');
    for (const n of [
      'backup_2025_1.tar.gz',
      'backup_20250607_080910.tar.gz.tmp',
      'x_backup_20250607_080910.tar.gz',
    ]) {
      expect(parseArchiveName(n)).toBeUndefined();
    }
  });
});

describe('manifest', () => {
  it('accepts a consistent manifest and refuses inconsistent or unsafe ones', () => {
    const files = [{ path: 'memories/a.json', body: '{}' }];
    expect(parseManifest(manifestOf(files)).file_count).toBe(1);
    expect(() => parseManifest('{')).toThrow(/not valid JSON/);
    expect(() => parseManifest(manifestOf(files, undefined, { file_count: 2 }))).toThrow(/file_count 2/);
    expect(() => parseManifest(manifestOf(files, undefined, { total_bytes: 9 }))).toThrow(/total_bytes/);
    expect(() => parseManifest(manifestOf([{ path: '../x', body: '' }]))).toThrow(/unsafe file path/);
    expect(() => parseManifest(manifestOf(files, undefined, { format: 'zip' }))).toThrow(/field format/);
  });
});

describe('KeyedMutex', () => {
  it('runs tasks of one key one at a time in order, other keys concurrently, and forgets idle keys', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const task = (key: string, n: number, ms: number) =>
      m.run(key, async () => {
        log.push(`start ${key}${n}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${key}${n}`);
        if (n === 2 && key === 'a') throw new Error('boom');
        return n;
      });
    const results = await Promise.allSettled([
      task('a', 1, 20),
      task('a', 2, 1),
      task('a', 3, 1),
      task('b', 1, 1),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('end a2')).toBeLessThan(log.indexOf('start a3'));
    expect(log.indexOf('end b1')).toBeLessThan(log.indexOf('end a1'));
    expect(m.size).toBe(0);
  });
});
