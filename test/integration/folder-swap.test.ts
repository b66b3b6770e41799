import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStaging, discardStaging, swapIn } from '../../src/data/folder-swap.js';
import { hashTree, tempDir } from '../helpers/data-files.js';

const t = tempDir('rea-swap-');
afterAll(() => t.remove());

function liveFolder(name: string): string {
  const root = join(t.dir, name);
  for (const f of ['reports', 'memories']) {
    mkdirSync(join(root, f), { recursive: true });
    writeFileSync(join(root, f, `${f}-original.txt`), `original ${f}`);
  }
  return root;
}

describe('the folder swap of a restore', () => {
  it('undoes a swap that fails halfway, leaves no journal, and its staging folder can go', async () => {
    const root = liveFolder('halfway');
    const data = () => ['reports', 'memories'].map((f) => hashTree(join(root, f)));
    const before = data();
    const staging = await createStaging(root);
    for (const f of ['reports', 'memories']) {
      mkdirSync(join(staging.newDir, f), { recursive: true });
      writeFileSync(join(staging.newDir, f, 'restored.txt'), `restored ${f}`);
    }
    // memories/ cannot be moved aside (a non-empty folder is in the way): reports/ was already swapped.
    mkdirSync(join(staging.oldDir, 'memories', 'in-the-way'), { recursive: true });
    await expect(swapIn(root, staging)).rejects.toThrow(/ENOTEMPTY|EEXIST/);
    expect(data()).toEqual(before);
    expect(existsSync(join(staging.dir, 'journal.json'))).toBe(false);
    expect(await discardStaging(staging)).toBe(true);
    expect(readdirSync(root).sort()).toEqual(['memories', 'reports']);
  });

  it('keeps a staging folder whose swap was neither committed nor rolled back', async () => {
    const root = liveFolder('uncommitted');
    const staging = await createStaging(root);
    mkdirSync(join(staging.oldDir, 'reports'), { recursive: true });
    writeFileSync(join(staging.oldDir, 'reports', 'only-copy.txt'), 'the original data');
    writeFileSync(join(staging.dir, 'journal.json'), JSON.stringify({ phase: 'swapping', had: {} }));
    expect(await discardStaging(staging)).toBe(false);
    expect(existsSync(join(staging.oldDir, 'reports', 'only-copy.txt'))).toBe(true);
  });
});
