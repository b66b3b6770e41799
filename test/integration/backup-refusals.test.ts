import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/backup/create-backup.js';
import { withMemberIndex } from '../../src/backup/gzip-index.js';
import { restoreBackup } from '../../src/backup/restore-backup.js';
import { verifyArchive } from '../../src/backup/verify-backup.js';
import { AppError } from '../../src/core/errors.js';
import { runScript } from '../helpers/cli.js';
import { hashTree, tempDir } from '../helpers/data-files.js';
import { archiveOf, buildTar, manifestOf, type RawEntry } from '../helpers/tar-build.js';

/** Limits small enough that a test can exceed them without writing gigabytes. */
const LIMITS = { maxFileBytes: 8 * 1024 * 1024, maxTotalBytes: 24 * 1024 * 1024 };
const LIMIT_ENV = {
  BACKUP_MAX_FILE_BYTES: String(LIMITS.maxFileBytes),
  BACKUP_MAX_TOTAL_BYTES: String(LIMITS.maxTotalBytes),
};

const GOOD = [
  { path: 'memories/alice.json', body: '{"format":1,"data":{"likes":"gardens"}}' },
  { path: 'reports/2025-report.md', body: '# Report\n\nthree bedrooms' },
];

const t = tempDir('rea-refusals-');
let genuine: Buffer;

function put(name: string, bytes: Buffer | string): string {
  const file = join(t.dir, 'archives', name);
  writeFileSync(file, bytes);
  return file;
}

/** GNU tar run in `cwd`; the archives it makes are as real as an attacker's. */
function gnuTar(cwd: string, args: string[]): void {
  const r = spawnSync('tar', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar ${args.join(' ')}: ${r.stderr}`);
}

/** A tree under `name` holding what `make` puts there, archived by GNU tar as `name`.tar.gz. */
function gnuArchive(name: string, make: (root: string) => void, args: (root: string) => string[]): string {
  const root = join(t.dir, 'gnu', name);
  mkdirSync(join(root, 'reports'), { recursive: true });
  mkdirSync(join(root, 'memories'), { recursive: true });
  make(root);
  const file = join(t.dir, 'archives', `${name}.tar.gz`);
  gnuTar(root, ['-czf', file, ...args(root)]);
  return file;
}

function gunzipTar(gz: Buffer): Buffer {
  return spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 * 1024 * 1024 }).stdout;
}

/** Tar data as our archives hold it: gzip members of `block` bytes, each recording its length. */
function indexedGzip(tar: Buffer, block = 1024): Buffer {
  const members: Buffer[] = [];
  for (let o = 0; o < tar.length; o += block)
    members.push(withMemberIndex(gzipSync(tar.subarray(o, o + block))));
  return Buffer.concat(members);
}

/** A copy of `gz` whose first member records `length` (offset 16: see gzip-index.ts). */
function recordingLength(gz: Buffer, length: (actual: number) => number): Buffer {
  const copy = Buffer.from(gz);
  copy.writeUInt32LE(length(copy.readUInt32LE(16)), 16);
  return copy;
}

/** A fresh live data folder for one case (so CLI cases can run side by side). */
function liveData(name: string): string {
  const dir = join(t.dir, 'live', name);
  cpSync(join(t.dir, 'template'), dir, { recursive: true });
  return dir;
}

interface Case {
  readonly name: string;
  readonly message: RegExp;
  /** Writes the bad archive and returns its path. */
  readonly build: () => string;
}

const CASES: Case[] = [
  {
    name: 'a truncated archive',
    message: /truncated/,
    build: () => put('truncated.tar.gz', genuine.subarray(0, Math.floor(genuine.length / 2))),
  },
  {
    name: 'a flipped byte',
    message: /corrupt|does not match/,
    build: () => {
      const flipped = Buffer.from(genuine);
      const at = Math.floor(flipped.length / 2);
      flipped[at] = (flipped[at] as number) ^ 0x55;
      return put('flipped.tar.gz', flipped);
    },
  },
  {
    name: 'a manifest that disagrees with the contents',
    message: /does not match its SHA-256/,
    build: () =>
      put(
        'lying-manifest.tar.gz',
        archiveOf(GOOD, {
          manifest: manifestOf([
            GOOD[0] as (typeof GOOD)[0],
            { path: 'reports/2025-report.md', body: 'x'.repeat(24) },
          ]),
        }),
      ),
  },
  {
    name: 'an extra file the manifest does not list',
    message: /intruder\.json.*which the manifest does not list/,
    build: () =>
      put('extra.tar.gz', archiveOf(GOOD, { extra: [{ path: 'memories/intruder.json', body: '{}' }] })),
  },
  {
    name: 'a missing file the manifest lists',
    message: /gone\.json.*lacks it/,
    build: () =>
      put(
        'missing.tar.gz',
        archiveOf(GOOD, { manifest: manifestOf([...GOOD, { path: 'memories/gone.json', body: '{}' }]) }),
      ),
  },
  {
    name: 'path traversal (..)',
    message: /unsafe entry .*path traversal/,
    build: () =>
      put(
        'traversal.tar.gz',
        archiveOf(GOOD, { extra: [{ path: 'reports/../../escaped.txt', body: 'pwned' }] }),
      ),
  },
  {
    name: 'an absolute path (tar package)',
    message: /unsafe entry .*absolute path/,
    build: () =>
      put(
        'absolute.tar.gz',
        archiveOf(GOOD, { extra: [{ path: `${t.dir}/absolute-escape.txt`, body: 'pwned' }] }),
      ),
  },
  {
    name: 'an absolute path (GNU tar -P)',
    message: /unsafe entry .*absolute path/,
    build: () =>
      gnuArchive(
        'gnu-absolute',
        (root) => writeFileSync(join(root, 'memories', 'a.json'), '{}'),
        (root) => ['-P', join(root, 'memories', 'a.json')],
      ),
  },
  {
    name: 'a symlink entry (GNU tar)',
    message: /symbolic link/,
    build: () =>
      gnuArchive(
        'symlink',
        (root) => symlinkSync('/etc/passwd', join(root, 'reports', 'passwd-link.md')),
        () => ['reports', 'memories'],
      ),
  },
  {
    name: 'a hard link entry (GNU tar)',
    message: /hard link/,
    build: () =>
      gnuArchive(
        'hardlink',
        (root) => {
          writeFileSync(join(root, 'memories', 'a.json'), '{"a":1}');
          linkSync(join(root, 'memories', 'a.json'), join(root, 'memories', 'b.json'));
        },
        () => ['memories'],
      ),
  },
  {
    name: 'a device entry',
    message: /device/,
    build: () =>
      put('device.tar.gz', archiveOf(GOOD, { extra: [{ path: 'memories/null', type: 'CharacterDevice' }] })),
  },
  {
    name: 'an entry outside reports/ and memories/',
    message: /outside reports\/ and memories\//,
    build: () =>
      put('outside.tar.gz', archiveOf(GOOD, { extra: [{ path: '.locks/service-x.json', body: '{}' }] })),
  },
  {
    name: 'a declared size of terabytes',
    message: /declares 4398046511104 bytes, over the per-file limit/,
    build: () => {
      const entries: RawEntry[] = [
        { path: 'memories/', type: 'Directory' },
        { path: 'memories/huge.json', declaredSize: 4 * 1024 ** 4 },
      ];
      return put('terabytes.tar.gz', gzipSync(buildTar(entries, { endMarker: false })));
    },
  },
  {
    name: 'a gzip bomb: one file over the per-file limit',
    message: /over the per-file limit/,
    build: () =>
      put(
        'bomb-file.tar.gz',
        gzipSync(buildTar([{ path: 'memories/bomb.json', body: Buffer.alloc(LIMITS.maxFileBytes + 1024) }])),
      ),
  },
  {
    name: 'a gzip bomb: files adding up over the total limit',
    message: /add up to more than/,
    build: () => {
      const six = Buffer.alloc(6 * 1024 * 1024);
      return put(
        'bomb-total.tar.gz',
        gzipSync(buildTar([0, 1, 2, 3, 4].map((i) => ({ path: `memories/b${i}.json`, body: six })))),
      );
    },
  },
  {
    name: 'a file that is not gzip at all',
    message: /not a gzip file/,
    build: () => put('plain.txt', 'this is not an archive\n'),
  },
  {
    name: 'an uncompressed tar',
    message: /not a gzip file/,
    build: () => put('plain.tar', buildTar([{ path: 'memories/a.json', body: '{}' }])),
  },
  { name: 'an empty file', message: /empty \(0 bytes\)/, build: () => put('empty.tar.gz', '') },
  {
    name: 'data hidden after the end-of-archive marker',
    message: /after its end-of-archive marker/,
    build: () =>
      put(
        'appended.tar.gz',
        gzipSync(
          Buffer.concat([
            gunzipTar(archiveOf(GOOD)),
            buildTar([{ path: 'memories/hidden.json', body: '{}' }]),
          ]),
        ),
      ),
  },
  {
    name: 'the same path twice',
    message: /appears twice/,
    build: () =>
      put(
        'duplicate.tar.gz',
        archiveOf(GOOD, { extra: [{ path: 'memories/alice.json', body: '{"evil":1}' }] }),
      ),
  },
  {
    name: 'an entry under a path that is a file',
    message: /lies under "reports\/a", which the archive holds as a file/,
    build: () =>
      put(
        'file-then-under.tar.gz',
        archiveOf([
          ...GOOD,
          { path: 'reports/a', body: 'a file' },
          { path: 'reports/a/b.md', body: 'under it' },
        ]),
      ),
  },
  {
    name: 'a file at a path that is a folder',
    message: /"reports\/a" is both a file and a folder/,
    build: () =>
      put(
        'folder-then-file.tar.gz',
        archiveOf([
          ...GOOD,
          { path: 'reports/a/b.md', body: 'in a folder' },
          { path: 'reports/a', body: 'then a file' },
        ]),
      ),
  },
  {
    name: 'no manifest',
    message: /no manifest\.json/,
    build: () => put('no-manifest.tar.gz', gzipSync(buildTar([{ path: 'memories/a.json', body: '{}' }]))),
  },
  {
    name: 'a manifest of a newer format',
    message: /format version 99 is newer/,
    build: () =>
      put(
        'future.tar.gz',
        archiveOf(GOOD, { manifest: manifestOf(GOOD, undefined, { format_version: 99 }) }),
      ),
  },
  {
    name: 'a tar without its end-of-archive marker',
    message: /truncated/,
    build: () => put('no-eof.tar.gz', archiveOf(GOOD, { endMarker: false })),
  },
  {
    name: 'a member index recording too short a length',
    message: /gzip data is corrupt/,
    build: () =>
      put(
        'index-short.tar.gz',
        recordingLength(indexedGzip(gunzipTar(archiveOf(GOOD))), (n) => n - 40),
      ),
  },
  {
    name: 'a member index recording too long a length',
    message: /gzip data is corrupt/,
    build: () =>
      put(
        'index-long.tar.gz',
        recordingLength(indexedGzip(gunzipTar(archiveOf(GOOD))), (n) => n + 40),
      ),
  },
  {
    name: 'a member index recording an impossible length',
    message: /impossible length/,
    build: () =>
      put(
        'index-huge.tar.gz',
        recordingLength(indexedGzip(gunzipTar(archiveOf(GOOD))), () => 0xfffffff0),
      ),
  },
  {
    name: 'a gzip bomb: one indexed member expanding past its bound',
    message: /a gzip member expands to more than/,
    build: () => put('bomb-member.tar.gz', withMemberIndex(gzipSync(Buffer.alloc(17 * 1024 * 1024)))),
  },
  {
    name: 'data hidden after zero padding',
    message: /data after the end of its gzip data/,
    build: () =>
      put(
        'padded-hidden.tar.gz',
        Buffer.concat([indexedGzip(gunzipTar(archiveOf(GOOD))), Buffer.alloc(600), Buffer.from('hidden')]),
      ),
  },
];

beforeAll(async () => {
  mkdirSync(join(t.dir, 'archives'), { recursive: true });
  const template = join(t.dir, 'template');
  mkdirSync(join(template, 'memories'), { recursive: true });
  mkdirSync(join(template, 'reports', 'nested'), { recursive: true });
  mkdirSync(join(template, '.locks'), { recursive: true });
  writeFileSync(join(template, 'memories', 'bob.json'), '{"live":true}');
  writeFileSync(join(template, 'reports', 'nested', 'live.md'), '# live data that must survive');
  // A genuine archive of ours, which some cases damage.
  const src = join(t.dir, 'src');
  mkdirSync(join(src, 'memories'), { recursive: true });
  for (let i = 0; i < 50; i++)
    writeFileSync(join(src, 'memories', `u${i}.json`), JSON.stringify({ i, pad: 'x'.repeat(i * 50) }));
  const good = await createBackup({
    dataDir: src,
    backupDir: join(t.dir, 'genuine'),
    keep: 5,
    appVersion: 'test',
  });
  genuine = readFileSync(good.path);
});

afterAll(() => t.remove());

describe('every bad archive is refused and the live data stays byte-identical', () => {
  for (const [index, c] of CASES.entries()) {
    it.concurrent(`refuses ${c.name}`, async () => {
      const file = c.build();
      const dataDir = liveData(`case-${index}`);
      const backupDir = `${dataDir}-backups`;
      const before = hashTree(dataDir);

      const verified = verifyArchive(file, LIMITS);
      await expect(verified).rejects.toBeInstanceOf(AppError);
      await expect(verified).rejects.toThrow(c.message);

      const restored = restoreBackup({
        archive: file,
        dataDir,
        backupDir,
        keep: 3,
        appVersion: 'test',
        limits: LIMITS,
      });
      await expect(restored).rejects.toThrow(c.message);
      expect(hashTree(dataDir)).toBe(before);

      const cli = await runScript(
        'backup',
        ['restore', file],
        { DATA_DIR: dataDir, BACKUP_DIR: backupDir, ...LIMIT_ENV },
        t.dir,
      );
      expect(cli.code, cli.stdout).toBe(3);
      expect(cli.stderr).toMatch(c.message);
      expect(hashTree(dataDir)).toBe(before);
      // A refused restore never got as far as archiving the live data.
      expect(existsSync(backupDir) ? readdirSync(backupDir) : []).toEqual([]);
    });
  }
});

describe('command-line mistakes', () => {
  it('a missing file argument: usage message and exit 2, nothing touched', async () => {
    const dataDir = liveData('missing-arg');
    const before = hashTree(dataDir);
    for (const command of ['restore', 'verify']) {
      const r = await runScript(
        'backup',
        [command],
        { DATA_DIR: dataDir, BACKUP_DIR: `${dataDir}-b` },
        t.dir,
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${command} needs the archive`);
      expect(r.stderr).toContain('usage: npm run backup');
    }
    const missing = await runScript(
      'backup',
      ['restore', 'backup_20990101_000000.tar.gz'],
      { DATA_DIR: dataDir, BACKUP_DIR: `${dataDir}-b` },
      t.dir,
    );
    expect(missing.code).toBe(4);
    expect(missing.stderr).toMatch(/no such archive: .*backup_20990101_000000\.tar\.gz/);
    expect(hashTree(dataDir)).toBe(before);
  });
});
