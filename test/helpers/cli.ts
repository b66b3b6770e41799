import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { logFilePath } from './logs.js';

const ROOT = join(import.meta.dirname, '..', '..');
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** What a script run printed and how it exited. */
export interface ScriptRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `scripts/<name>.ts` as the operator would (`node --import tsx`), in `cwd` (a temp folder, so
 * no developer `.env` is read) with only the given environment plus PATH. The output is also
 * written to the run's log folder, which the suite audits for secrets.
 */
export function runScript(
  name: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'scripts', `${name}.ts`), ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      writeFileSync(logFilePath(`cli-${name}`), `${JSON.stringify({ args, code, stdout, stderr })}\n`);
      resolve({ code, stdout, stderr });
    });
  });
}
