/**
 * `npm run bench`: runs every bench/*.bench.ts in its own process (so one benchmark's heap and
 * timers never skew another's) and prints their reports. `npm run bench -- <name>` runs the
 * benchmarks whose file name contains <name>. Each benchmark measures its own baseline in the
 * same run and prints the ratio: these machines are shared, absolute figures are noise. It builds
 * first: the benchmarks run the compiled service, as production does (bench/built.ts).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNodeFlags } from '../test/helpers/node-flags.js';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') && f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches "${filter}"`);
  process.exit(2);
}
// The benchmarks measure the build that `npm start` runs (see bench/built.ts).
const build = spawnSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
if (build.status !== 0) {
  console.error('npm run build failed');
  process.exit(2);
}
// The V8 flags production runs with (also in the Dockerfile and the systemd unit): the benchmarks
// run the service in their own process, so they take the same.
const v8Flags = startNodeFlags(join(here, '..'));
console.log(`node flags of npm start: ${v8Flags.join(' ') || '(none)'}`);
let failed = 0;
for (const f of files) {
  console.log(`\n=== ${f} ===`);
  const r = spawnSync(process.execPath, [...v8Flags, '--import', 'tsx', '--expose-gc', join(here, f)], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    failed++;
    console.log(`!!! ${f} exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
