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
