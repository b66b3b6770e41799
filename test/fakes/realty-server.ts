import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FakeResponse, HttpFake, type RecordedRequest } from './http-fake.js';

/** A raw Realty US result, as in test/fixtures/realty/*.json. */
export interface RealtyFixture {
  readonly property_id: string;
  readonly list_price: number;
  readonly list_date: string;
  readonly description: { beds: number; baths: number; sqft: number; type: string };
  readonly location: { address: { city: string; state_code: string } };
  readonly [field: string]: unknown;
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'realty');

/** The fixture listings for sale (`search-buy`) or for rent (`search-rent`). */
export function realtyFixtures(kind: 'buy' | 'rent'): RealtyFixture[] {
  return JSON.parse(readFileSync(join(FIXTURES, `search-${kind}.json`), 'utf8')) as RealtyFixture[];
}

/** `propertyType` values of the API and the `description.type` they match in results. */
const TYPE_MATCH: Record<string, string[]> = {
  single_family_home: ['single_family'],
  condo: ['condos', 'condo'],
  townhome: ['townhomes', 'townhouse'],
  multi_family: ['multi_family'],
  mobile: ['mobile'],
  land: ['land'],
  farm: ['farm'],
  apartment: ['apartment'],
};

/** Options of {@link RealtyFake}. */
export interface RealtyFakeOptions {
  /** When set, any other `x-rapidapi-key` gets 403 (RapidAPI's "not subscribed"); none gets 401. */
  readonly apiKey?: string;
  /** When set, `x-rapidapi-host` must equal it (else 400). */
  readonly host?: string;
}

/**
 * The Realty US API (RapidAPI) on 127.0.0.1: `GET /properties/search-buy` and `/search-rent` over
 * the fixture listings, filtered by `location` (`city:Austin, TX`), `prices` (`min,max`),
 * `bedrooms`/`bathrooms` (minimums), `propertyType`, sorted by `sortBy`, paged by `page` and
 * `resultsPerPage`; results under `data.results[]`. Faults through {@link http} (`fake.http.fail`).
 */
export class RealtyFake {
  private constructor(
    readonly http: HttpFake,
    private readonly options: RealtyFakeOptions,
  ) {}

  static async start(options: RealtyFakeOptions = {}): Promise<RealtyFake> {
    let self: RealtyFake | undefined;
    const http = await HttpFake.start((req) => (self as RealtyFake).handle(req));
    self = new RealtyFake(http, options);
    return self;
  }

  get url(): string {
    return this.http.url;
  }

  /** Search requests received (both kinds). */
  get searches(): RecordedRequest[] {
    return this.http.requests.filter((r) => r.path.startsWith('/properties/search-'));
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private handle(req: RecordedRequest): FakeResponse {
    const key = req.headers['x-rapidapi-key'];
    if (this.options.apiKey !== undefined) {
      if (key === undefined)
        return {
          status: 401,
          body: { message: 'Invalid API key. Go to https://docs.rapidapi.com/docs/keys for more info.' },
        };
      if (key !== this.options.apiKey)
        return { status: 403, body: { message: 'You are not subscribed to this API.' } };
    }
    if (this.options.host !== undefined && req.headers['x-rapidapi-host'] !== this.options.host)
      return { status: 400, body: { message: 'bad x-rapidapi-host' } };
    if (req.method !== 'GET') return { status: 405, body: { message: 'method not allowed' } };
    const kind =
      req.path === '/properties/search-buy'
        ? 'buy'
        : req.path === '/properties/search-rent'
          ? 'rent'
          : undefined;
    if (!kind) return { status: 404, body: { message: `Endpoint '${req.path}' does not exist` } };
    const q = req.query;
    const location = /^city:(.+),\s*([A-Za-z]{2})$/.exec(q.get('location') ?? '');
    if (!location) return { status: 400, body: { message: 'location must be like city:Austin, TX' } };
    const perPage = Number(q.get('resultsPerPage') ?? '20');
    const page = Number(q.get('page') ?? '1');
    if (!(perPage >= 8 && perPage <= 200) || !(page >= 1))
      return { status: 400, body: { message: 'resultsPerPage must be 8-200, page >= 1' } };
    const [minPrice, maxPrice] = (q.get('prices') ?? ',')
      .split(',')
      .map((v) => (v === '' ? undefined : Number(v)));
    const beds = Number(q.get('bedrooms') ?? '0');
    const baths = Number(q.get('bathrooms') ?? '0');
    const types = q
      .get('propertyType')
      ?.split(',')
      .flatMap((t) => TYPE_MATCH[t] ?? [t]);
    const city = (location[1] as string).trim().toLowerCase();
    const state = (location[2] as string).toUpperCase();
    let results = realtyFixtures(kind).filter(
      (r) =>
        r.location.address.city.toLowerCase() === city &&
        r.location.address.state_code === state &&
        (minPrice === undefined || r.list_price >= minPrice) &&
        (maxPrice === undefined || r.list_price <= maxPrice) &&
        r.description.beds >= beds &&
        r.description.baths >= baths &&
        (types === undefined || types.includes(r.description.type)),
    );
    const sort = q.get('sortBy');
    if (sort === 'lowest_price') results = results.sort((a, b) => a.list_price - b.list_price);
    if (sort === 'highest_price') results = results.sort((a, b) => b.list_price - a.list_price);
    if (sort === 'newest') results = results.sort((a, b) => b.list_date.localeCompare(a.list_date));
    const total = results.length;
    const slice = results.slice((page - 1) * perPage, page * perPage);
    return { body: { status: 200, data: { total, count: slice.length, results: slice } } };
  }
}
