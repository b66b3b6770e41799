import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder under the OS temp dir, removed by the returned function. */
export function tempDir(prefix = 'rea-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }) };
}

/**
 * A digest of everything under `root`: every path with its type, and every file's SHA-256.
 * Two trees with equal digests are byte-identical (timestamps aside).
 */
export function hashTree(root: string): string {
  const h = createHash('sha256');
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      const st = statSync(abs);
      if (st.isDirectory()) {
        h.update(`d ${path}\n`);
        walk(abs, path);
      } else {
        h.update(`f ${path} ${st.size} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}\n`);
      }
    }
  };
  walk(root, '');
  return h.digest('hex');
}

/** Every file under `root` with its content, by `/`-separated relative path. */
export function readTree(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const path = rel ? `${rel}/${name}` : name;
      if (statSync(abs).isDirectory()) walk(abs, path);
      else out.set(path, readFileSync(abs));
    }
  };
  walk(root, '');
  return out;
}

const NAMES = [
  'maison',
  'casa-de-campo',
  'überhaus',
  '東京の家',
  'дом',
  'Ünïcödé ñame',
  'emoji-🏠',
  'a b c',
  "o'neil",
];

/**
 * Writes a tree of `count` files under `root/reports` and `root/memories`: nested folders (up to
 * four deep), Unicode and space-holding names, empty files, `bigFiles` files of a few MB, the rest
 * small text/binary files. Deterministic names, random content.
 */
export function generateTree(
  root: string,
  count: number,
  options: { bigFiles?: number; emptyDirs?: number } = {},
): number {
  let bytes = 0;
  const big = options.bigFiles ?? 3;
  for (let i = 0; i < count; i++) {
    const top = i % 2 === 0 ? 'reports' : 'memories';
    const depth = i % 5;
    const parts = [top];
    for (let d = 0; d < depth; d++) parts.push(`${NAMES[(i + d) % NAMES.length]}-${(i >> (d + 2)) % 7}`);
    const dir = join(root, ...parts);
    mkdirSync(dir, { recursive: true });
    let content: Buffer;
    if (i % 97 === 0) content = Buffer.alloc(0);
    else if (i < big) content = randomBytes(2 * 1024 * 1024 + i * 333_333);
    else if (i % 3 === 0) content = randomBytes(1 + (i % 5000));
    else
      content = Buffer.from(
        `# ${NAMES[i % NAMES.length]} ${i}\n${'line of text \u00e9\n'.repeat(1 + (i % 200))}`,
      );
    const ext = i % 2 === 0 ? 'md' : 'json';
    writeFileSync(join(dir, `${NAMES[i % NAMES.length]}-${i}.${ext}`), content);
    bytes += content.length;
  }
  for (let e = 0; e < (options.emptyDirs ?? 2); e++)
    mkdirSync(join(root, 'memories', `empty-${e}`, 'deeper'), { recursive: true });
  return bytes;
}
