/**
 * Overpass QL built from validated numbers, a whitelist of tag filters and escaped strings only:
 * nothing a user or the model types can change the query's structure.
 */

/** Amenity categories the location tool knows, each a list of OSM `key=value` filters. */
export const AMENITY_CATEGORIES = {
  school: [['amenity', 'school']],
  university: [
    ['amenity', 'university'],
    ['amenity', 'college'],
  ],
  kindergarten: [['amenity', 'kindergarten']],
  hospital: [
    ['amenity', 'hospital'],
    ['amenity', 'clinic'],
  ],
  pharmacy: [['amenity', 'pharmacy']],
  supermarket: [
    ['shop', 'supermarket'],
    ['shop', 'greengrocer'],
  ],
  restaurant: [['amenity', 'restaurant']],
  cafe: [['amenity', 'cafe']],
  park: [
    ['leisure', 'park'],
    ['leisure', 'playground'],
  ],
  gym: [['leisure', 'fitness_centre']],
  transit: [
    ['public_transport', 'station'],
    ['railway', 'station'],
    ['highway', 'bus_stop'],
  ],
  library: [['amenity', 'library']],
  bank: [['amenity', 'bank']],
} as const satisfies Record<string, readonly (readonly [string, string])[]>;

/** A category name of {@link AMENITY_CATEGORIES}. */
export type AmenityCategory = keyof typeof AMENITY_CATEGORIES;

/** The category names, for schemas. */
export const AMENITY_CATEGORY_NAMES = Object.keys(AMENITY_CATEGORIES) as [
  AmenityCategory,
  ...AmenityCategory[],
];

/**
 * Escapes text for a double-quoted Overpass QL string: backslash and both quotes are escaped,
 * line breaks become `\n`/`\t`, other control characters are dropped.
 */
export function escapeOverpassString(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === '\\' || ch === '"' || ch === "'") out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) continue;
    else out += ch;
  }
  return out;
}

/** Escapes regular-expression metacharacters so `text` matches literally inside `~"..."`. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Input of {@link buildAmenityQuery}: already validated. */
export interface AmenityQuery {
  readonly lat: number;
  readonly lon: number;
  readonly radiusMeters: number;
  readonly categories: readonly AmenityCategory[];
  /** Only features whose name contains this text (case-insensitive, literal). */
  readonly nameContains?: string;
  /** Server-side timeout, seconds. */
  readonly timeoutSeconds: number;
  /** Most elements returned. */
  readonly maxResults: number;
}

function assertNumber(name: string, v: number, min: number, max: number): void {
  if (!Number.isFinite(v) || v < min || v > max)
    throw new RangeError(`${name} must be within [${min}, ${max}]`);
}

/** The Overpass QL for amenities around a point; throws RangeError on numbers out of range. */
export function buildAmenityQuery(q: AmenityQuery): string {
  assertNumber('lat', q.lat, -90, 90);
  assertNumber('lon', q.lon, -180, 180);
  assertNumber('radiusMeters', q.radiusMeters, 1, 50_000);
  assertNumber('timeoutSeconds', q.timeoutSeconds, 1, 180);
  assertNumber('maxResults', q.maxResults, 1, 10_000);
  const around = `(around:${Math.round(q.radiusMeters)},${q.lat.toFixed(6)},${q.lon.toFixed(6)})`;
  const name =
    q.nameContains === undefined ? '' : `["name"~"${escapeOverpassString(escapeRegex(q.nameContains))}",i]`;
  const lines: string[] = [];
  for (const category of new Set(q.categories)) {
    const filters = AMENITY_CATEGORIES[category];
    if (!filters) throw new RangeError(`unknown amenity category`);
    for (const [key, value] of filters)
      lines.push(`  nwr["${escapeOverpassString(key)}"="${escapeOverpassString(value)}"]${name}${around};`);
  }
  return `[out:json][timeout:${Math.round(q.timeoutSeconds)}];\n(\n${lines.join('\n')}\n);\nout center tags ${Math.round(q.maxResults)};`;
}

/** The category of an element's tags, or undefined. */
export function categoryOf(
  tags: Readonly<Record<string, unknown>>,
  wanted: readonly AmenityCategory[],
): AmenityCategory | undefined {
  for (const category of wanted)
    for (const [key, value] of AMENITY_CATEGORIES[category]) if (tags[key] === value) return category;
  return undefined;
}

/** Great-circle distance in metres (haversine, mean Earth radius). */
export function distanceMeters(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(a)));
}
