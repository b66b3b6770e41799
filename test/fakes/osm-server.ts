import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FakeResponse, HttpFake, type RecordedRequest } from './http-fake.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'osm');
const load = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

/** One tag filter of an Overpass statement: `["key"="value"]` or `["key"~"regex",i]`. */
export interface OverpassFilter {
  readonly key: string;
  readonly op: '=' | '~';
  readonly value: string;
  readonly caseInsensitive: boolean;
}

/** One parsed `nwr[...](around:r,lat,lon);` statement. */
export interface OverpassStatement {
  readonly filters: OverpassFilter[];
  readonly radius: number;
  readonly lat: number;
  readonly lon: number;
}

/** A parsed query: settings line, statements and output limit; throws on anything else. */
export interface ParsedOverpass {
  readonly timeout: number;
  readonly statements: OverpassStatement[];
  readonly limit: number;
}

/**
 * A strict parser for the subset of Overpass QL our client writes. Quoted strings honour backslash
 * escapes, so an escaped name comes back literally; anything outside the subset (a second query,
 * an injected statement) is a parse error, as Overpass itself would answer 400.
 */
export function parseOverpassQuery(ql: string): ParsedOverpass {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`overpass parse error at ${i}: expected ${what}`);
  };
  const skip = () => {
    while (i < ql.length && /\s/.test(ql[i] as string)) i++;
  };
  const expect = (text: string) => {
    skip();
    if (!ql.startsWith(text, i)) fail(JSON.stringify(text));
    i += text.length;
  };
  const number = (): number => {
    skip();
    const m = /^-?\d+(\.\d+)?/.exec(ql.slice(i));
    if (!m) return fail('a number');
    i += m[0].length;
    return Number(m[0]);
  };
  const quoted = (): string => {
    skip();
    if (ql[i] !== '"') fail('a quoted string');
    i++;
    let out = '';
    while (i < ql.length && ql[i] !== '"') {
      let ch = ql[i++] as string;
      if (ch === '\\') {
        const next = ql[i++] as string;
        ch = next === 'n' ? '\n' : next === 't' ? '\t' : next;
      }
      out += ch;
    }
    if (ql[i] !== '"') fail('a closing quote');
    i++;
    return out;
  };
  expect('[out:json][timeout:');
  const timeout = number();
  expect('];');
  expect('(');
  const statements: OverpassStatement[] = [];
  for (;;) {
    skip();
    if (ql[i] === ')') break;
    expect('nwr');
    const filters: OverpassFilter[] = [];
    for (;;) {
      skip();
      if (ql[i] !== '[') break;
      i++;
      const key = quoted();
      skip();
      const op = ql[i++];
      if (op !== '=' && op !== '~') fail('= or ~');
      const value = quoted();
      skip();
      let caseInsensitive = false;
      if (ql.startsWith(',i', i)) {
        caseInsensitive = true;
        i += 2;
      }
      expect(']');
      filters.push({ key, op: op as '=' | '~', value, caseInsensitive });
    }
    expect('(around:');
    const radius = number();
    expect(',');
    const lat = number();
    expect(',');
    const lon = number();
    expect(');');
    statements.push({ filters, radius, lat, lon });
  }
  expect(');');
  expect('out center tags');
  const limit = number();
  expect(';');
  skip();
  if (i !== ql.length) fail('the end of the query');
  return { timeout, statements, limit };
}

function distance(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * rad) / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(a));
}

interface Poi {
  lat?: number;
  lon?: number;
  center?: { lat: number; lon: number };
  tags: Record<string, string>;
}

/**
 * Nominatim (`GET /search?q=...&format=json`) and Overpass (`POST /api/interpreter`) on one
 * loopback server, over the fixtures in test/fixtures/osm. Records every request (User-Agent
 * included); faults through {@link http}. Point both base URLs at {@link url}.
 */
export class OsmFake {
  /** Overpass queries received, parsed. */
  readonly overpassQueries: ParsedOverpass[] = [];

  private constructor(readonly http: HttpFake) {}

  static async start(): Promise<OsmFake> {
    let self: OsmFake | undefined;
    const http = await HttpFake.start((req) => (self as OsmFake).handle(req));
    self = new OsmFake(http);
    return self;
  }

  get url(): string {
    return this.http.url;
  }

  /** Nominatim searches received. */
  get geocodes(): RecordedRequest[] {
    return this.http.requestsTo('/search');
  }

  /** Overpass requests received. */
  get overpass(): RecordedRequest[] {
    return this.http.requestsTo('/api/interpreter');
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private handle(req: RecordedRequest): FakeResponse {
    if (req.path === '/search' && req.method === 'GET') {
      if (!['json', 'jsonv2'].includes(req.query.get('format') ?? ''))
        return { status: 400, body: 'format required' };
      const q = (req.query.get('q') ?? '').trim().toLowerCase().replace(/\s+/g, ' ');
      const places = (load('nominatim-places.json') as Record<string, unknown[]>)[q] ?? [];
      return { body: places.slice(0, Number(req.query.get('limit') ?? '10')) };
    }
    if (req.path === '/api/interpreter' && req.method === 'POST') {
      const type = String(req.headers['content-type'] ?? '');
      const ql = type.includes('application/x-www-form-urlencoded')
        ? (new URLSearchParams(req.body).get('data') ?? '')
        : req.body;
      let parsed: ParsedOverpass;
      try {
        parsed = parseOverpassQuery(ql);
      } catch (err) {
        return { status: 400, body: `Error: ${(err as Error).message}` };
      }
      this.overpassQueries.push(parsed);
      const pois = load('overpass-pois.json') as Poi[];
      const matches = pois.filter((p) =>
        parsed.statements.some((s) => {
          const lat = p.lat ?? p.center?.lat ?? 0;
          const lon = p.lon ?? p.center?.lon ?? 0;
          if (distance(s.lat, s.lon, lat, lon) > s.radius) return false;
          return s.filters.every((f) => {
            const v = p.tags[f.key];
            if (v === undefined) return false;
            return f.op === '=' ? v === f.value : new RegExp(f.value, f.caseInsensitive ? 'i' : '').test(v);
          });
        }),
      );
      return {
        body: {
          version: 0.6,
          generator: 'Overpass API (fake)',
          osm3s: { timestamp_osm_base: '2025-05-15T00:00:00Z' },
          elements: matches.slice(0, parsed.limit),
        },
      };
    }
    return { status: 404, body: { error: 'not found' } };
  }
}
