import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * Transpiles `entry` and every file it imports by relative path into `outDir` (same layout,
 * plain ESM JavaScript), so a child process can start with bare `node` in tens of milliseconds
 * instead of going through tsx. Bare imports (packages) are left to node's resolution, which
 * finds the project's packages through a `node_modules` link in `outDir`.
 * Returns the path of the transpiled entry.
 */
export function transpileGraph(entry: string, outDir: string): string {
  const seen = new Set<string>();
  const queue = [resolve(entry)];
  writeFileSync(join(outDir, 'package.json'), '{"type":"module"}\n');
  const modules = join(outDir, 'node_modules');
  if (!existsSync(modules)) symlinkSync(join(ROOT, 'node_modules'), modules, 'dir');
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const out = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
      fileName: file,
    }).outputText;
    const target = join(outDir, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, out);
    // Follow the value imports that survive transpilation.
    for (const m of out.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      queue.push(resolve(dirname(file), `${m[1]}.ts`));
    }
  }
  return join(outDir, relative(ROOT, resolve(entry))).replace(/\.ts$/, '.js');
}
