import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { AdapterStatus, PlatformAdapter } from '../../src/core/adapter.js';
import { buildHttpServer, type HttpDeps } from './server.js';

/** The HTTP chat API as a platform adapter: listens on `HOST:PORT`. */
export class HttpAdapter implements PlatformAdapter {
  readonly name = 'http';
  readonly app: FastifyInstance;
  private state: 'starting' | 'listening' | 'stopped' | 'failing' = 'starting';
  private readonly deps: HttpDeps;

  constructor(deps: HttpDeps) {
    this.deps = deps;
    this.app = buildHttpServer(deps);
  }

  async start(): Promise<void> {
    try {
      await this.app.listen({ port: this.deps.config.env.PORT, host: this.deps.config.env.HOST });
      this.state = 'listening';
    } catch (err) {
      this.state = 'failing';
      throw err;
    }
  }

  /** The port actually bound (useful with PORT=0). */
  get port(): number {
    return (this.app.server.address() as AddressInfo | null)?.port ?? 0;
  }

  /**
   * Stops accepting, lets in-flight requests finish, and closes keep-alive connections as soon
   * as they fall idle (Node only closes the ones idle at the moment close() is called).
   */
  async stop(): Promise<void> {
    this.state = 'stopped';
    const sweep = setInterval(() => this.app.server.closeIdleConnections(), 50);
    try {
      await this.app.close();
    } finally {
      clearInterval(sweep);
    }
  }

  status(): AdapterStatus {
    if (this.state === 'listening' && this.deps.config.apiKeys.length === 0) {
      return { status: 'no_api_keys', detail: 'set API_KEYS to admit clients' };
    }
    return { status: this.state };
  }
}
