import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startNodeFlags } from '../helpers/node-flags.js';

const ROOT = join(import.meta.dirname, '..', '..');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const PLATFORM_SDKS = /from ['"](@slack\/[^'"]+|discord\.js|@discordjs\/[^'"]+)['"]/;

describe('architecture boundaries', () => {
  it('nothing under src/ imports a chat platform SDK', () => {
    const offenders = filesUnder(join(ROOT, 'src')).filter((f) =>
      PLATFORM_SDKS.test(readFileSync(f, 'utf8')),
    );
    expect(offenders.map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('only the config module reads process.env', () => {
    const dirs = ['src', 'adapters', 'scripts'].map((d) => join(ROOT, d));
    const offenders = dirs
      .flatMap((d) => {
        try {
          return filesUnder(d);
        } catch {
          return [];
        }
      })
      .filter((f) => /process\.env\b/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual(['src/config/config.ts']);
  });

  it('the core imports no adapter, except the composition root', () => {
    const offenders = filesUnder(join(ROOT, 'src'))
      .filter((f) => !f.includes(`${join('src', 'app')}`) && !f.endsWith('main.ts'))
      .filter((f) => /from ['"](\.\.\/)+adapters\//.test(readFileSync(f, 'utf8')))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });

  it('every variable of the schema is documented in .env.example and the README', async () => {
    const { envSchema } = await import('../../src/config/env-schema.js');
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const names = Object.keys(envSchema.shape);
    expect(names.filter((n) => !new RegExp(`^#?\\s*${n}=`, 'm').test(example))).toEqual([]);
    expect(names.filter((n) => !readme.includes(`\`${n}\``))).toEqual([]);
  });

  it('npm start, the Dockerfile and the systemd unit run node with the same V8 flags', () => {
    const flags = startNodeFlags(ROOT).join(' ');
    expect(flags).toBe('--max-semi-space-size=8 --no-allocation-site-pretenuring --no-parallel-scavenge');
    const dockerCmd = /^CMD \[(.*)\]$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '';
    expect(dockerCmd).toBe(['node', ...flags.split(' '), 'dist/src/main.js'].map((a) => `"${a}"`).join(', '));
    const unit = readFileSync(join(ROOT, 'deploy', 'real-estate-ai.service'), 'utf8');
    expect(/^ExecStart=(.*)$/m.exec(unit)?.[1]).toBe(`/usr/bin/node ${flags} dist/src/main.js`);
  });

  it('docker-compose.yml passes every variable of the schema to the backend', async () => {
    const { envSchema } = await import('../../src/config/env-schema.js');
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const names = Object.keys(envSchema.shape);
    expect(names.filter((n) => !new RegExp(`^\\s+${n}: `, 'm').test(compose))).toEqual([]);
  });
});
