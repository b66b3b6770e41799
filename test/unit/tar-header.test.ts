import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHeader, numberField, type PendingFields } from '../../src/backup/tar-header.js';
import { buildTar } from '../helpers/tar-build.js';

const META = new Set(['ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'OldGnuLongPath']);

interface Seen {
  type: string;
  path: string;
  size: number | undefined;
  cksumValid: boolean;
}

/**
 * Walks raw tar bytes header by header, decoding each with ours and with the `tar` package's
 * `Header` under the same pending pax / long-name fields, as TarReader carries them.
 */
function walk(data: Buffer): { ours: Seen[]; theirs: Seen[] } {
  const ours: Seen[] = [];
  const theirs: Seen[] = [];
  let ex: PendingFields | undefined;
  let gex: PendingFields | undefined;
  let off = 0;
  while (off + 512 <= data.length && data.subarray(off, off + 512).some((b) => b !== 0)) {
    const mine = decodeHeader(data, off, ex, gex);
    const h = new tar.Header(data, off, ex as tar.HeaderData, gex as tar.HeaderData);
    ours.push({ ...mine });
    theirs.push({ type: h.type, path: h.path ?? '', size: h.size, cksumValid: h.cksumValid });
    const size = mine.size ?? 0;
    const body = data.subarray(off + 512, off + 512 + size).toString('utf8');
    if (META.has(mine.type)) {
      if (mine.type === 'ExtendedHeader') ex = tar.Pax.parse(body, ex as tar.HeaderData, false);
      else if (mine.type === 'GlobalExtendedHeader') gex = tar.Pax.parse(body, gex as tar.HeaderData, true);
      else ex = { ...ex, path: body.replace(/\0[\s\S]*$/, '') };
    } else ex = undefined;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return { ours, theirs };
}

describe('decodeHeader', () => {
  let dir: string;
  const long = `${'d'.repeat(60)}/${'e'.repeat(70)}/${'f'.repeat(90)}.md`;
  const unicode = 'memories/zürich-日本-🏠.json';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tar-header-'));
    const src = join(dir, 'src');
    mkdirSync(join(src, 'reports', 'nested', 'deeper'), { recursive: true });
    mkdirSync(join(src, 'memories'), { recursive: true });
    mkdirSync(join(src, long.slice(0, long.lastIndexOf('/'))), { recursive: true });
    writeFileSync(join(src, long), 'a long path\n');
    writeFileSync(join(src, unicode), '{"budget":1}');
    writeFileSync(join(src, 'reports', 'empty.md'), '');
    writeFileSync(join(src, 'reports', 'nested', 'deeper', 'r.md'), 'x'.repeat(70_000));
    symlinkSync('../memories', join(src, 'reports', 'link'));
    execFileSync('ln', [join(src, 'reports', 'empty.md'), join(src, 'reports', 'hard.md')]);
    execFileSync('mkfifo', [join(src, 'reports', 'fifo')]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // v7 cannot hold the long path; the other formats each store it their own way.
  it.each(['gnu', 'oldgnu', 'posix', 'ustar', 'v7'])(
    'agrees with the tar package on what GNU tar --format=%s writes',
    (format) => {
      const out = join(dir, `${format}.tar`);
      // v7 holds neither FIFOs nor names over 100 bytes.
      const members = format === 'v7' ? ['--exclude=fifo', 'reports', 'memories'] : ['.'];
      execFileSync('tar', [`--format=${format}`, '-cf', out, '-C', join(dir, 'src'), ...members], {
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      const { ours, theirs } = walk(readFileSync(out));
      expect(ours.length).toBeGreaterThanOrEqual(9);
      expect(ours).toEqual(theirs);
      const paths = ours.map((h) => h.path);
      if (format !== 'v7') expect(paths).toContain(`./${long}`);
      expect(paths.some((p) => p.endsWith(unicode))).toBe(true);
      const types = new Set(ours.map((h) => h.type));
      for (const t of ['Directory', 'File', 'SymbolicLink', 'Link']) expect(types).toContain(t);
      if (format !== 'v7') expect(types).toContain('FIFO');
      expect(ours.find((h) => h.path.endsWith('deeper/r.md'))?.size).toBe(70_000);
      expect(ours.every((h) => h.cksumValid)).toBe(true);
    },
  );

  it('reads a ustar prefix, and a pax path in place of name and prefix (where the tar package joins them)', () => {
    // 120 characters: ustar splits it into prefix and name; with an `x` record the path comes from pax.
    const path = `reports/${'p'.repeat(50)}/${'q'.repeat(58)}.md`;
    const data = buildTar([
      { path, body: 'hello' },
      { path: `memories/${'m'.repeat(120)}.json`, body: '{}' },
    ]);
    const { ours, theirs } = walk(data);
    expect(ours.filter((h) => h.type === 'File').map((h) => h.path)).toEqual([
      path,
      `memories/${'m'.repeat(120)}.json`,
    ]);
    // Both agree on the headers and on the prefixed path; on the second file the tar package puts
    // the header's prefix in front of the pax path, which already holds the whole path.
    expect(ours.slice(0, 2)).toEqual(theirs.slice(0, 2));
    expect(theirs[2]?.path).toBe(`memories/memories/${'m'.repeat(120)}.json`);
  });

  it('finds a changed byte through the checksum, and refuses a size that is not a number', () => {
    const data = buildTar([{ path: 'reports/a.md', body: 'hello' }]);
    expect(decodeHeader(data, 0).cksumValid).toBe(true);
    const flipped = Buffer.from(data);
    flipped[10] = (flipped[10] as number) ^ 1;
    expect(decodeHeader(flipped, 0).cksumValid).toBe(false);
    const notOctal = Buffer.from(data);
    notOctal.write('0000000009\0', 124, 'latin1');
    expect(decodeHeader(notOctal, 0).size).toBeUndefined();
    expect(() => decodeHeader(data.subarray(0, 511), 0)).toThrow(RangeError);
  });

  it('reads octal and base-256 numbers and nothing else', () => {
    const field = (bytes: number[] | string) =>
      typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
    expect(numberField(field('00000000017\0'), 0, 12)).toBe(15);
    expect(numberField(field('  017 \0\0\0\0\0\0'), 0, 12)).toBe(15);
    expect(numberField(field('\0\0\0\0\0\0\0\0\0\0\0\0'), 0, 12)).toBeUndefined();
    expect(numberField(field('0001x\0\0\0\0\0\0\0'), 0, 12)).toBeUndefined();
    expect(numberField(field('017\0 9\0\0\0\0\0\0'), 0, 12)).toBeUndefined();
    // 2^40 in GNU base-256: 0x80, then big-endian bytes.
    expect(numberField(field([0x80, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]), 0, 12)).toBe(2 ** 40);
    expect(numberField(field([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0]), 0, 12)).toBe(
      undefined,
    );
    // Negative base-256 (0xff first) is not a size.
    expect(
      numberField(field([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0, 12),
    ).toBe(undefined);
  });
});
