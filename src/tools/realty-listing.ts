/** One listing, simplified for the model: what a person needs to pick a home, nothing more. */
export interface Listing {
  readonly id: string;
  /** One line: `123 Main St, Austin, TX 78701`. */
  readonly address: string;
  readonly city: string | null;
  readonly state: string | null;
  readonly postalCode: string | null;
  /** List price (rent: per month); null when the listing has none. */
  readonly price: number | null;
  readonly beds: number | null;
  readonly baths: number | null;
  readonly sqft: number | null;
  readonly type: string | null;
  readonly status: string | null;
  readonly listDate: string | null;
  /** Page of the listing (http/https only). */
  readonly link: string | null;
  readonly photo: string | null;
  readonly lat: number | null;
  readonly lon: number | null;
}

type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' ? (v as Obj) : {});
const num = (v: unknown): number | null => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  return typeof v === 'string' && /^\d{1,12}(\.\d{1,4})?$/.test(v.trim()) ? Number(v) : null;
};
const str = (v: unknown, max = 200): string | null =>
  typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, max) : null;

function httpUrl(v: unknown): string | null {
  const s = str(v, 500);
  if (!s) return null;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.toString() : null;
  } catch {
    return null;
  }
}

/**
 * Simplifies one Realty US result (`property_id`, `list_price`, `description.{beds,baths,sqft,type}`,
 * `location.address.{line,city,state_code,postal_code,coordinate}`, `href`, `primary_photo.href`).
 * Returns null for an entry without an id. Unknown or malformed fields become null, never throw.
 */
export function simplifyListing(raw: unknown): Listing | null {
  const r = obj(raw);
  const id = str(r.property_id, 64) ?? (typeof r.property_id === 'number' ? String(r.property_id) : null);
  if (!id) return null;
  const d = obj(r.description);
  const address = obj(obj(r.location).address);
  const coordinate = obj(address.coordinate);
  const line = str(address.line);
  const city = str(address.city, 80);
  const state = str(address.state_code, 8);
  const postalCode = str(address.postal_code, 16);
  const place = [city, [state, postalCode].filter(Boolean).join(' ')].filter(Boolean).join(', ');
  const permalink = str(r.permalink, 300);
  const link =
    httpUrl(r.href) ??
    (permalink ? httpUrl(`https://www.realtor.com/realestateandhomes-detail/${encodeURI(permalink)}`) : null);
  const photos = Array.isArray(r.photos) ? r.photos : [];
  return {
    id,
    address: [line, place].filter(Boolean).join(', ') || 'address not disclosed',
    city,
    state,
    postalCode,
    price: num(r.list_price) ?? num(r.list_price_min),
    beds: num(d.beds) ?? num(d.beds_min),
    baths: num(d.baths) ?? num(d.baths_consolidated) ?? num(d.baths_min),
    sqft: num(d.sqft) ?? num(d.sqft_min),
    type: str(d.type, 40),
    status: str(r.status, 40),
    listDate: str(r.list_date, 40),
    link,
    photo: httpUrl(obj(r.primary_photo).href) ?? httpUrl(obj(photos[0]).href),
    lat: num(coordinate.lat),
    lon: num(coordinate.lon),
  };
}
