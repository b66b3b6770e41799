import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from '../logging/logger.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { HealthReporter } from './health.js';

/** True when the client asks for the Prometheus text format rather than JSON. */
export function wantsPrometheus(accept: string | undefined, format: unknown): boolean {
  if (format === 'prometheus') return true;
  if (format === 'json') return false;
  const a = (accept ?? '').toLowerCase();
  return a.includes('text/plain') || a.includes('application/openmetrics-text');
}

/**
 * The sidecar listener on `OPS_PORT`: `/health` (200 while ok or degraded, 503 when down) and
 * `/metrics` (JSON by default, Prometheus text when asked). Nothing else is served here.
 */
export function buildOpsServer(deps: {
  health: HealthReporter;
  metrics: ServiceMetrics;
  logger: Logger;
}): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger.child({ listener: 'ops' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
  });

  app.get('/health', async (_req, reply) => {
    const report = deps.health.report();
    reply.header('cache-control', 'no-store');
    return reply.code(report.status === 'down' ? 503 : 200).send(report);
  });

  app.get<{ Querystring: { format?: string } }>('/metrics', async (req, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('vary', 'accept');
    if (wantsPrometheus(req.headers.accept, req.query.format)) {
      const { contentType, body } = await deps.metrics.prometheus();
      return reply.type(contentType).send(body);
    }
    return reply.send(deps.metrics.json());
  });

  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: 'Not found',
        status: 404,
        code: 'not_found',
        detail: `${req.method} ${req.url.split('?')[0]} is not served here; try /health or /metrics`,
      }),
  );
  return app;
}
