import type { Agent } from '../core/message.js';
import type { RedisConnection } from '../redis/connection.js';

/** One component's state in `/health`. */
export interface ComponentCheck {
  readonly status: string;
  readonly [detail: string]: unknown;
}

/** The body of `GET /health`. */
export interface HealthReport {
  readonly status: 'ok' | 'degraded' | 'down';
  readonly version: string;
  readonly uptime_seconds: number;
  readonly checks: Record<string, ComponentCheck>;
}

/** Component states that are fine; anything else makes the service `degraded`. */
const HEALTHY = new Set(['connected', 'configured', 'listening', 'ok', 'off']);
/** States of a platform listener that can take traffic (`no_api_keys`: the HTTP API listens but admits nobody). */
const SERVING = new Set(['listening', 'connected', 'no_api_keys']);

/**
 * Collects component states into the `/health` report: `ok` when everything is fine,
 * `degraded` while serving with a part missing (Redis down, no model, a failing upstream),
 * `down` when no listener takes traffic or the service is shutting down.
 */
export class HealthReporter {
  private readonly checks = new Map<string, () => ComponentCheck>();
  private readonly startedAt = Date.now();
  private draining = false;

  constructor(
    private readonly options: {
      version: string;
      connection: RedisConnection;
      /** The agent in use (a function: the composition root may swap it once the model is built). */
      agent: () => Agent;
    },
  ) {
    this.register('redis', () => ({
      status: options.connection.connected ? 'connected' : 'disconnected',
      mode: options.connection.mode,
    }));
    this.register('llm', () => ({ status: options.agent().status() }));
  }

  /** Adds or replaces a component's check. */
  register(name: string, check: () => ComponentCheck): void {
    this.checks.set(name, check);
  }

  /** From now on the service reports `down` (shutdown has begun). */
  markDraining(): void {
    this.draining = true;
  }

  report(): HealthReport {
    const checks: Record<string, ComponentCheck> = {};
    for (const [name, check] of this.checks) {
      try {
        checks[name] = check();
      } catch {
        checks[name] = { status: 'failing' };
      }
    }
    const serving = ['http', 'slack', 'discord'].some((n) => SERVING.has(checks[n]?.status ?? ''));
    const redisOk = checks.redis?.status === 'connected';
    const allHealthy = Object.values(checks).every((c) => HEALTHY.has(c.status));
    const status = this.draining || !serving ? 'down' : redisOk && allHealthy ? 'ok' : 'degraded';
    return {
      status,
      version: this.options.version,
      uptime_seconds: Math.round((Date.now() - this.startedAt) / 1000),
      checks,
    };
  }
}
