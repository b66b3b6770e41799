import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One request a fake received. */
export interface RecordedRequest {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Raw body (gunzipped when sent with `content-encoding: gzip`). */
  readonly body: string;
  readonly at: number;
}

/**
 * A scripted failure, applied to the next request(s) before the fake's own logic:
 * - `status`: answer this status (JSON body, extra headers such as `retry-after`);
 * - `hang`: never answer, until the client gives up or the fake closes;
 * - `slow`: wait `delayMs`, then answer normally;
 * - `reset`: destroy the connection without an answer.
 */
export type Fault =
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body?: unknown;
      readonly headers?: Record<string, string>;
    }
  | { readonly kind: 'hang' }
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'reset' };

/** What a fake's handler answers. */
export interface FakeResponse {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown;
}

/** A fake's logic: return a response, or write to `res` yourself and return undefined (streaming). */
export type FakeHandler = (
  req: RecordedRequest,
  res: ServerResponse,
) => FakeResponse | undefined | Promise<FakeResponse | undefined>;

/** A real HTTP server on 127.0.0.1 (port 0) that records requests and plays scripted faults. */
export class HttpFake {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly faults: Fault[] = [];
  private sticky: Fault | undefined;
  private port = 0;
  /** Requests the fake is holding open (hang faults). */
  private readonly held = new Set<ServerResponse>();
  private active = 0;

  private constructor(private readonly handler: FakeHandler) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts a fake on a free loopback port. */
  static async start(handler: FakeHandler): Promise<HttpFake> {
    const fake = new HttpFake(handler);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as { port: number }).port;
    return fake;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connections open right now (a cut-off client must leave none). */
  get openConnections(): number {
    return this.sockets.size;
  }

  /**
   * Requests received whose exchange has not ended (answered or connection closed). A client that
   * gave up on a hanging request must bring this back to 0: its socket was really closed.
   */
  get inFlight(): number {
    return this.active;
  }

  /** Requests being held open by a `hang` fault right now. */
  get hanging(): number {
    return this.held.size;
  }

  /** The next `times` requests meet `fault`. */
  fail(fault: Fault, times = 1): this {
    for (let i = 0; i < times; i++) this.faults.push(fault);
    return this;
  }

  /** Every request meets `fault` until {@link clearFaults}. */
  failAlways(fault: Fault): this {
    this.sticky = fault;
    return this;
  }

  clearFaults(): this {
    this.faults.length = 0;
    this.sticky = undefined;
    return this;
  }

  /** Forgets the recorded requests. */
  reset(): this {
    this.requests.length = 0;
    return this.clearFaults();
  }

  /** Requests to a path (exact match). */
  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Stops listening and destroys every connection, including held ones. */
  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.held.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.active++;
    res.on('close', () => this.active--);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let raw = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip' && raw.length > 0) raw = gunzipSync(raw);
    const url = new URL(req.url ?? '/', this.url);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: raw.toString('utf8'),
      at: Date.now(),
    };
    this.requests.push(recorded);
    const fault = this.faults.shift() ?? this.sticky;
    if (fault?.kind === 'hang') {
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      return;
    }
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      send(res, {
        status: fault.status,
        headers: fault.headers,
        body: fault.body ?? { error: `fault ${fault.status}` },
      });
      return;
    }
    if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.delayMs));
    try {
      const out = await this.handler(recorded, res);
      if (out && !res.headersSent) send(res, out);
    } catch (err) {
      if (!res.headersSent) send(res, { status: 500, body: { error: (err as Error).message } });
    }
  }
}

/** Writes a {@link FakeResponse}. */
export function send(res: ServerResponse, out: FakeResponse): void {
  if (res.destroyed) return;
  const isText = typeof out.body === 'string';
  const body = out.body === undefined ? '' : isText ? (out.body as string) : JSON.stringify(out.body);
  res.writeHead(out.status ?? 200, {
    ...(out.body === undefined ? {} : { 'content-type': isText ? 'text/plain' : 'application/json' }),
    ...out.headers,
  });
  res.end(body);
}
