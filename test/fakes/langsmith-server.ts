import { type FakeResponse, HttpFake, type RecordedRequest } from './http-fake.js';

/** A run as the fake holds it: creates and later patches merged by id. */
export interface RecordedRun {
  readonly id: string;
  readonly name?: string;
  readonly run_type?: string;
  readonly trace_id?: string;
  readonly parent_run_id?: string | null;
  readonly dotted_order?: string;
  readonly session_name?: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
  readonly error?: string | null;
  readonly tags?: string[];
  readonly extra?: { metadata?: Record<string, unknown>; [k: string]: unknown };
  readonly start_time?: string | number;
  readonly end_time?: string | number;
  readonly [field: string]: unknown;
}

/** One ingestion call: which runs were created and patched. */
export interface Ingestion {
  readonly endpoint: 'batch' | 'runs' | 'patch' | 'multipart';
  readonly post: RecordedRun[];
  readonly patch: RecordedRun[];
}

/** What `GET /info` answers by default: JSON batches to `/runs/batch`, no compression. */
export const LANGSMITH_INFO = {
  batch_ingest_config: { use_multipart_endpoint: false },
  instance_flags: {},
} as const;

/**
 * A LangSmith API on 127.0.0.1 that records runs: `GET /info`, `POST /runs/batch` (`{post, patch}`),
 * `POST /runs`, `PATCH /runs/:id`, and a minimal `POST /runs/multipart`. Point the client at
 * {@link url} (`LANGSMITH_ENDPOINT` or `new Client({ apiUrl })`); flush before asserting.
 */
export class LangSmithFake {
  readonly ingestions: Ingestion[] = [];
  private readonly byId = new Map<string, RecordedRun>();
  info: unknown = LANGSMITH_INFO;

  private constructor(readonly http: HttpFake) {}

  static async start(): Promise<LangSmithFake> {
    let self: LangSmithFake | undefined;
    const http = await HttpFake.start((req) => (self as LangSmithFake).handle(req));
    self = new LangSmithFake(http);
    return self;
  }

  get url(): string {
    return this.http.url;
  }

  /** Every run, in order of first appearance. */
  runs(): RecordedRun[] {
    return [...this.byId.values()];
  }

  run(id: string): RecordedRun | undefined {
    return this.byId.get(id);
  }

  /** Runs without a parent: one per trace. */
  rootRuns(): RecordedRun[] {
    return this.runs().filter((r) => !r.parent_run_id);
  }

  /** The runs of one trace. */
  trace(traceId: string): RecordedRun[] {
    return this.runs().filter((r) => r.trace_id === traceId);
  }

  /** Waits until `predicate` holds over the runs (polling), or throws after `timeoutMs`. */
  async waitFor(predicate: (runs: RecordedRun[]) => boolean, timeoutMs = 5000): Promise<RecordedRun[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const runs = this.runs();
      if (predicate(runs)) return runs;
      if (Date.now() > deadline)
        throw new Error(`LangSmith fake: condition not met within ${timeoutMs} ms (${runs.length} runs)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private record(endpoint: Ingestion['endpoint'], post: RecordedRun[], patch: RecordedRun[]): void {
    this.ingestions.push({ endpoint, post, patch });
    for (const run of [...post, ...patch]) {
      if (typeof run?.id !== 'string') continue;
      this.byId.set(run.id, { ...this.byId.get(run.id), ...run });
    }
  }

  private handle(req: RecordedRequest): FakeResponse {
    const ok = { status: 202, body: { message: 'Runs batch ingested' } };
    if (req.method === 'GET' && req.path === '/info') return { body: this.info };
    if (req.method === 'POST' && req.path === '/runs/batch') {
      const body = JSON.parse(req.body || '{}') as { post?: RecordedRun[]; patch?: RecordedRun[] };
      this.record('batch', body.post ?? [], body.patch ?? []);
      return ok;
    }
    if (req.method === 'POST' && req.path === '/runs') {
      this.record('runs', [JSON.parse(req.body) as RecordedRun], []);
      return ok;
    }
    const patch = /^\/runs\/([0-9a-f-]{36})$/.exec(req.path);
    if (req.method === 'PATCH' && patch) {
      this.record('patch', [], [{ ...(JSON.parse(req.body) as RecordedRun), id: patch[1] as string }]);
      return ok;
    }
    if (req.method === 'POST' && req.path === '/runs/multipart') {
      const { post, patch: patches } = parseMultipart(req);
      this.record('multipart', post, patches);
      return ok;
    }
    return { status: 404, body: { detail: 'Not Found' } };
  }
}

/** Minimal multipart/form-data reader for `post.<id>`, `patch.<id>` and `<op>.<id>.<field>` parts. */
function parseMultipart(req: RecordedRequest): { post: RecordedRun[]; patch: RecordedRun[] } {
  const boundary = /boundary=([^;]+)/
    .exec(String(req.headers['content-type'] ?? ''))?.[1]
    ?.replace(/^"|"$/g, '');
  const runs = {
    post: new Map<string, Record<string, unknown>>(),
    patch: new Map<string, Record<string, unknown>>(),
  };
  if (!boundary) return { post: [], patch: [] };
  for (const part of req.body.split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split === -1) continue;
    const name = /name="([^"]+)"/.exec(part.slice(0, split))?.[1];
    const m = name ? /^(post|patch)\.([0-9a-f-]{36})(?:\.(\w+))?$/.exec(name) : null;
    if (!m) continue;
    const [, op, id, field] = m as unknown as [string, 'post' | 'patch', string, string | undefined];
    let value: unknown;
    try {
      value = JSON.parse(part.slice(split + 4).replace(/\r\n$/, ''));
    } catch {
      continue;
    }
    const run = runs[op].get(id) ?? { id };
    if (field) run[field] = value;
    else Object.assign(run, value);
    runs[op].set(id, run);
  }
  return { post: [...runs.post.values()] as RecordedRun[], patch: [...runs.patch.values()] as RecordedRun[] };
}
