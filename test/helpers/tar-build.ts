import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';

/** One entry of a hand-built archive; `declaredSize` lets a header lie about its size. */
export interface RawEntry {
  readonly path: string;
  readonly type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  readonly body?: Buffer | string;
  readonly declaredSize?: number;
  readonly linkpath?: string;
}

/**
 * Builds raw tar bytes header by header with the `tar` package's Header/Pax, so tests can write
 * archives no well-behaved tool would: traversal, links, devices, lying sizes, no end marker.
 */
export function buildTar(entries: readonly RawEntry[], options: { endMarker?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = typeof e.body === 'string' ? Buffer.from(e.body) : (e.body ?? Buffer.alloc(0));
    const type = e.type ?? 'File';
    const size = e.declaredSize ?? (type === 'File' ? body.length : 0);
    const h = new tar.Header({
      path: e.path,
      type,
      size,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: new Date(1_700_000_000_000),
      linkpath: e.linkpath,
    });
    if (h.encode()) parts.push(new tar.Pax({ path: e.path, linkpath: e.linkpath }).encode());
    parts.push(h.block as Buffer);
    if (body.length > 0) {
      parts.push(body);
      const pad = (512 - (body.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  if (options.endMarker !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A manifest.json body listing `files` (override any field to make it lie). */
export function manifestOf(
  files: ReadonlyArray<{ path: string; body: Buffer | string }>,
  directories: readonly string[] = ['reports', 'memories'],
  overrides: Record<string, unknown> = {},
): string {
  const list = files.map((f) => {
    const b = typeof f.body === 'string' ? Buffer.from(f.body) : f.body;
    return { path: f.path, size: b.length, sha256: createHash('sha256').update(b).digest('hex') };
  });
  return JSON.stringify({
    format: 'real-estate-ai-backup',
    format_version: 1,
    created_at: '2025-01-01T00:00:00.000Z',
    app_version: 'test',
    file_count: list.length,
    total_bytes: list.reduce((s, f) => s + f.size, 0),
    directories,
    files: list,
    ...overrides,
  });
}

/** A gzip'd archive holding `files` plus a matching manifest, then `extra` raw entries. */
export function archiveOf(
  files: ReadonlyArray<{ path: string; body: string }>,
  options: { extra?: RawEntry[]; manifest?: string; endMarker?: boolean } = {},
): Buffer {
  const entries: RawEntry[] = [
    { path: 'reports/', type: 'Directory' },
    { path: 'memories/', type: 'Directory' },
    ...files.map((f) => ({ path: f.path, body: f.body })),
    ...(options.extra ?? []),
    { path: 'manifest.json', body: options.manifest ?? manifestOf(files) },
  ];
  return gzipSync(buildTar(entries, { endMarker: options.endMarker }));
}
