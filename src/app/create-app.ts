import type { FastifyInstance } from 'fastify';
import { HttpAdapter } from '../../adapters/http/adapter.js';
import type { Config } from '../config/config.js';
import type { PlatformAdapter } from '../core/adapter.js';
import { buildOpsServer } from '../ops/ops-server.js';
import { buildCore, type CoreOverrides, type CoreServices } from './core-services.js';

/** A running (or runnable) service: the core, its adapters and the ops listener. */
export interface App {
  readonly core: CoreServices;
  readonly http: HttpAdapter;
  readonly ops: FastifyInstance;
  readonly adapters: readonly PlatformAdapter[];
  start(): Promise<void>;
  /** Graceful stop: no new work, in-flight work finishes within SHUTDOWN_TIMEOUT_MS, Redis closed. */
  stop(): Promise<void>;
}

/** The composition root's body: wires config into core, adapters and the ops listener. */
export function createApp(config: Config, overrides: CoreOverrides = {}): App {
  const core = buildCore(config, overrides);
  const http = new HttpAdapter({
    config,
    pipeline: core.pipeline,
    rateLimiter: core.rateLimiter,
    metrics: core.metrics,
    logger: core.logger,
    userData: core.agentServices.userData,
  });
  const adapters: PlatformAdapter[] = [http];
  for (const a of adapters) core.health.register(a.name, () => ({ ...a.status() }));
  core.health.register('slack', () =>
    config.env.SLACK_BOT_TOKEN
      ? { status: 'not_implemented' }
      : { status: 'off', detail: 'no SLACK_BOT_TOKEN' },
  );
  core.health.register('discord', () =>
    config.env.DISCORD_TOKEN ? { status: 'not_implemented' } : { status: 'off', detail: 'no DISCORD_TOKEN' },
  );
  const ops = buildOpsServer({ health: core.health, metrics: core.metrics, logger: core.logger });
  let stopping: Promise<void> | undefined;

  return {
    core,
    http,
    ops,
    adapters,
    async start() {
      // The data folder first: refuses to start while a restore runs, and makes restores refuse while we run.
      await core.data.open();
      core.connection.start();
      await ops.listen({ port: config.env.OPS_PORT, host: config.env.OPS_HOST });
      for (const a of adapters) await a.start();
      for (const a of adapters) core.logger.info({ adapter: a.name, ...a.status() }, 'adapter state');
      core.logger.info(
        { port: http.port, ops_port: (ops.server.address() as { port: number } | null)?.port },
        'service started',
      );
    },
    stop() {
      stopping ??= (async () => {
        const log = core.logger;
        const bound = config.env.SHUTDOWN_TIMEOUT_MS;
        core.health.markDraining();
        log.info({ timeout_ms: bound }, 'shutting down: finishing in-flight work');
        let timer: NodeJS.Timeout | undefined;
        const grace = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), bound);
        });
        const drained = Promise.allSettled(adapters.map((a) => a.stop()));
        if ((await Promise.race([drained, grace])) === 'timeout') {
          log.warn('in-flight work did not finish in time: aborting it');
          core.shutdown.abort(new Error('shutdown'));
          await Promise.race([drained, new Promise((r) => setTimeout(r, 1000))]);
        }
        clearTimeout(timer);
        await ops.close();
        // Upstream limiters stop (waiting calls fail), then pending LangSmith traces are sent.
        await core.agentServices.close();
        await core.data.close();
        await core.connection.close();
        log.info('stopped');
        await new Promise<void>((resolve) => log.flush(() => resolve()));
      })();
      return stopping;
    },
  };
}
