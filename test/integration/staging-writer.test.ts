import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StagingWriter } from '../../src/backup/staging-writer.js';
import { tempDir } from '../helpers/data-files.js';

describe('StagingWriter', () => {
  const t = tempDir('rea-staging-');
  afterAll(() => t.remove());

  it('writes under its root and refuses, on its own, any path that could leave it', async () => {
    const root = join(t.dir, 'stage');
    const writer = new StagingWriter(root);
    try {
      for (const bad of [
        '',
        '/etc/passwd',
        '../x',
        'reports/../../x',
        'reports/./a',
        'reports//a',
        'reports/',
        'a\\b',
        'a\0b',
        '..',
        '.',
      ]) {
        expect(() => writer.file(bad), JSON.stringify(bad)).toThrow(/outside the staging folder/);
        expect(() => writer.directory(bad), JSON.stringify(bad)).toThrow(/outside the staging folder/);
      }
      writer.directory('reports');
      const sink = writer.file('reports/a..b/ok.md');
      sink.write(Buffer.from('hello'));
      sink.end();
      await writer.finish();
    } finally {
      await writer.close();
    }
    expect(readFileSync(join(root, 'reports', 'a..b', 'ok.md'), 'utf8')).toBe('hello');
    expect(readdirSync(t.dir)).toEqual(['stage']);
    expect(existsSync(join(t.dir, 'x'))).toBe(false);
  });
});

describe('StagingWriter without syncfs', () => {
  const t = tempDir('rea-staging-fsync-');
  afterAll(() => t.remove());

  it('falls back to fsyncing every file and folder it wrote', async () => {
    const root = join(t.dir, 'stage');
    // No `sh` on the PATH when the sync helper starts: it cannot sync, so sync() must fsync.
    const path = process.env.PATH;
    process.env.PATH = join(t.dir, 'no-such-bin');
    let writer: StagingWriter;
    try {
      writer = new StagingWriter(root);
    } finally {
      process.env.PATH = path;
    }
    try {
      for (const [i, p] of [
        'reports/a.md',
        'reports/x/b.md',
        'memories/c.json',
        'memories/y/z/d.json',
      ].entries()) {
        const sink = writer.file(p);
        sink.write(Buffer.from(`file ${i}`));
        sink.end();
      }
      writer.directory('memories/empty');
      await writer.finish();
      expect(await writer.sync()).toBe('fsync');
    } finally {
      await writer.close();
    }
    expect(readFileSync(join(root, 'memories', 'y', 'z', 'd.json'), 'utf8')).toBe('file 3');
    expect(readdirSync(join(root, 'memories', 'empty'))).toEqual([]);
  });
});
