import { describe, expect, it } from 'vitest';
import {
  buildAmenityQuery,
  distanceMeters,
  escapeOverpassString,
  escapeRegex,
} from '../../src/tools/overpass-query.js';
import { parseOverpassQuery } from '../fakes/osm-server.js';

const base = {
  lat: 30.3105,
  lon: -97.7265,
  radiusMeters: 1000,
  timeoutSeconds: 25,
  maxResults: 100,
} as const;

describe('Overpass QL builder', () => {
  it('writes one statement per tag filter, around the point', () => {
    const ql = buildAmenityQuery({ ...base, categories: ['school', 'park'] });
    const parsed = parseOverpassQuery(ql);
    expect(parsed.timeout).toBe(25);
    expect(parsed.limit).toBe(100);
    expect(parsed.statements.map((s) => s.filters.map((f) => `${f.key}=${f.value}`).join())).toEqual([
      'amenity=school',
      'leisure=park',
      'leisure=playground',
    ]);
    expect(parsed.statements[0]).toMatchObject({ radius: 1000, lat: 30.3105, lon: -97.7265 });
  });

  it('cannot be broken out of through a name', () => {
    const attacks = [
      'x"](around:99999,0,0);out;(nwr["a"="b',
      'Joe\'s "Best" Café\\',
      'a\nout body;\n',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: regex metacharacters, not a template
      '.*+?^${}()|[]\\',
      'evil\u0000\u001b[31m',
    ];
    for (const name of attacks) {
      const ql = buildAmenityQuery({ ...base, categories: ['cafe'], nameContains: name });
      const parsed = parseOverpassQuery(ql); // throws if the structure changed
      expect(parsed.statements).toHaveLength(1);
      const filter = parsed.statements[0]?.filters[1];
      expect(filter).toMatchObject({ key: 'name', op: '~', caseInsensitive: true });
      // The regex matches the literal name (control characters dropped), nothing more.
      const literal = [...name]
        .filter((ch) => ch === '\n' || ch === '\t' || (ch >= ' ' && ch !== '\u007f'))
        .join('');
      expect(new RegExp(filter?.value as string, 'i').test(`at ${literal} here`)).toBe(true);
      expect(new RegExp(filter?.value as string, 'i').test('something else')).toBe(false);
    }
  });

  it('escapes quotes, backslashes and line breaks', () => {
    expect(escapeOverpassString('a"b\'c\\d\ne\tf\u0001')).toBe('a\\"b\\\'c\\\\d\\ne\\tf');
    expect(escapeRegex('a.b*c')).toBe('a\\.b\\*c');
  });

  it('refuses numbers out of range', () => {
    expect(() => buildAmenityQuery({ ...base, lat: 91, categories: ['school'] })).toThrow(RangeError);
    expect(() => buildAmenityQuery({ ...base, lon: Number.NaN, categories: ['school'] })).toThrow(RangeError);
    expect(() => buildAmenityQuery({ ...base, radiusMeters: 1e9, categories: ['school'] })).toThrow(
      RangeError,
    );
  });

  it('measures distances (haversine)', () => {
    // One degree of latitude is about 111.2 km.
    expect(distanceMeters(30, -97, 31, -97)).toBeGreaterThan(111_000);
    expect(distanceMeters(30, -97, 31, -97)).toBeLessThan(111_400);
    expect(distanceMeters(30, -97, 30, -97)).toBe(0);
  });
});
