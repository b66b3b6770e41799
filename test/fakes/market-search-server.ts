import { type FakeResponse, HttpFake, type RecordedRequest } from './http-fake.js';

/** A search request as the fake received it. */
export interface MarketSearchRequest {
  readonly query: string;
  readonly max_results?: number;
  readonly search_depth?: string;
  readonly topic?: string;
  readonly time_range?: string;
  readonly [field: string]: unknown;
}

/** One page of the fake web: returned when every word of `match` is in the query. */
interface Page {
  readonly match: readonly string[];
  readonly title: string;
  readonly url: string;
  readonly content: string;
  readonly published_date?: string;
}

/** The fake web the search runs over. */
export const MARKET_PAGES: readonly Page[] = [
  {
    match: ['austin'],
    title: 'Austin housing market report: prices down 3.1% year over year',
    url: 'https://market.example.com/austin/report',
    content:
      'The median sale price in Austin, TX was $452,000 in the last month, down 3.1% year over year, ' +
      'with 61 median days on market and inventory up 18%.',
    published_date: 'Mon, 03 Nov 2025 10:00:00 GMT',
  },
  {
    match: ['austin'],
    title: 'Austin rents flat as new apartments open',
    url: 'https://news.example.org/austin-rents',
    content: 'Average rent in Austin held at $1,650 a month as record apartment supply came online.',
  },
  {
    match: ['austin'],
    title: 'A link that is not a web page',
    url: 'javascript:alert(1)',
    content: 'Never handed to the model.',
  },
  {
    match: ['mortgage'],
    title: 'Mortgage rates this week',
    url: 'https://rates.example.com/weekly',
    content: 'The average 30-year fixed mortgage rate was 6.3% this week.',
  },
];

/** Options of {@link MarketSearchFake}. */
export interface MarketSearchFakeOptions {
  /** When set, any other bearer token gets 401 (as Tavily answers an invalid key). */
  readonly apiKey?: string;
}

/**
 * The Tavily search API on 127.0.0.1: `POST /search` with `Authorization: Bearer <key>` and a JSON
 * body (`query`, `max_results` 0-20, `search_depth`, `topic`, `time_range`), answering
 * `{query, results: [{title, url, content, score, published_date?}], response_time}` from
 * {@link MARKET_PAGES}. Every request is recorded; faults through {@link http} (`fake.http.fail`).
 */
export class MarketSearchFake {
  private constructor(
    readonly http: HttpFake,
    private readonly options: MarketSearchFakeOptions,
  ) {}

  static async start(options: MarketSearchFakeOptions = {}): Promise<MarketSearchFake> {
    let self: MarketSearchFake | undefined;
    const http = await HttpFake.start((req) => (self as MarketSearchFake).handle(req));
    self = new MarketSearchFake(http, options);
    return self;
  }

  get url(): string {
    return this.http.url;
  }

  /** Search requests received (every one, faulted or not). */
  get searches(): RecordedRequest[] {
    return this.http.requestsTo('/search');
  }

  /** The JSON bodies of the search requests. */
  searchBodies(): MarketSearchRequest[] {
    return this.searches.map((r) => JSON.parse(r.body) as MarketSearchRequest);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private handle(req: RecordedRequest): FakeResponse {
    if (req.path !== '/search') return { status: 404, body: { detail: { error: 'Not Found' } } };
    if (req.method !== 'POST') return { status: 405, body: { detail: { error: 'Method Not Allowed' } } };
    const auth = req.headers.authorization;
    if (this.options.apiKey !== undefined && auth !== `Bearer ${this.options.apiKey}`)
      return { status: 401, body: { detail: { error: 'Unauthorized: missing or invalid API key.' } } };
    let body: MarketSearchRequest;
    try {
      body = JSON.parse(req.body) as MarketSearchRequest;
    } catch {
      return { status: 400, body: { detail: { error: 'Invalid JSON body' } } };
    }
    const max = body.max_results ?? 5;
    if (typeof body.query !== 'string' || body.query.trim() === '' || !(max >= 0 && max <= 20))
      return { status: 400, body: { detail: { error: 'query is required; max_results is 0 to 20' } } };
    const words = body.query.toLowerCase();
    const results = MARKET_PAGES.filter((p) => p.match.every((w) => words.includes(w)))
      .slice(0, max)
      .map((p, i) => ({
        title: p.title,
        url: p.url,
        content: p.content,
        score: Number((0.9 - i * 0.1).toFixed(2)),
        ...(p.published_date ? { published_date: p.published_date } : {}),
        raw_content: null,
      }));
    return { body: { query: body.query, answer: null, images: [], results, response_time: '0.42' } };
  }
}
