import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { ApiKey, Config } from '../../src/config/config.js';
import type { UserDataEraser } from '../../src/core/chat-commands.js';
import { AppError, type ErrorCode, type RateLimitState, toAppError, typeOf } from '../../src/core/errors.js';
import type { MessagePipeline } from '../../src/core/pipeline.js';
import type { Logger } from '../../src/logging/logger.js';
import type { ServiceMetrics } from '../../src/metrics/service-metrics.js';
import type { RateLimiter } from '../../src/rate-limit/rate-limiter.js';
import { ApiKeyRegistry, CREDENTIAL_QUERY_PARAMS, presentedKey } from './auth.js';
import { registerChatRoutes } from './chat-route.js';
import { registerJsonBody } from './json-body.js';
import { openApiDocument } from './openapi.js';
import { problemOf, sendProblem, setRateLimitHeaders } from './problem.js';
import { lazyRequestLogger } from './request-logger.js';
import { registerUserDataRoutes } from './user-data-route.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKey;
    /** Set once a rate limit decided about this request (its headers are on the reply). */
    rateLimited?: RateLimitState;
    /** The stable code of the problem this request was answered with. */
    problemCode?: ErrorCode;
    /** True once the message went into the core pipeline (which counts it itself). */
    reachedPipeline?: boolean;
  }
}

/** What the HTTP adapter needs from the core. */
export interface HttpDeps {
  readonly config: Config;
  readonly pipeline: MessagePipeline;
  readonly rateLimiter: RateLimiter;
  readonly metrics: ServiceMetrics;
  readonly logger: Logger;
  /** "Forget me" (`DELETE /v1/users/me/memory`). */
  readonly userData?: UserDataEraser;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const API_PREFIX = '/v1/';

/** Writes a problem JSON answer to a raw socket (errors Node's parser raises before Fastify sees a request). */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, title] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT'
      ? [408, 'request_timeout', 'The request did not arrive in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'invalid_header', 'Request headers too large']
        : [400, 'invalid_header', 'Malformed HTTP request'];
  const body = JSON.stringify({
    type: `urn:real-estate-ai:problem:${code}`,
    title,
    status,
    code,
    detail: title,
  });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Admits a request to the API under `/v1/` (the OpenAPI document is public): sets its API key,
 * or answers why it is refused. A callback hook's helper: no promise per request.
 */
function authenticate(request: FastifyRequest, keys: ApiKeyRegistry): AppError | undefined {
  // The matched route, not the raw URL: the router decodes the path, so /%761/chat is /v1/chat.
  const path = request.routeOptions.url ?? request.url;
  if (!path.startsWith(API_PREFIX) || path.startsWith('/v1/openapi.json')) return undefined;
  const query = request.query as Record<string, unknown>;
  for (const p of CREDENTIAL_QUERY_PARAMS) {
    if (p in query) {
      return new AppError(
        'api_key_in_query',
        'Send the API key in the Authorization or X-API-Key header, never in the URL',
      );
    }
  }
  const candidate = presentedKey(request.headers);
  const key = candidate === undefined ? undefined : keys.find(candidate);
  if (!key) {
    return new AppError(
      'unauthorized',
      keys.size === 0
        ? 'This server has no API keys configured (set API_KEYS)'
        : candidate === undefined
          ? 'Send an API key as "Authorization: Bearer <key>" or "X-API-Key: <key>"'
          : 'The API key is not valid',
    );
  }
  request.apiKey = key;
  return undefined;
}

/** Maps whatever a route or hook threw to one of our errors. */
function normalise(err: FastifyError | AppError | Error): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    return new AppError(
      'validation_failed',
      `The request body ${fe.message.replace(/^body\/?/, '').trim()}`,
      {
        details: {
          errors: fe.validation.map((v) => ({ field: v.instancePath || '/', message: v.message })),
        },
      },
    );
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'Send the body as application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('invalid_json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('validation_failed', 'Content-Length does not match the body');
  }
  const status = fe.statusCode ?? 500;
  if (status === 413) return new AppError('payload_too_large');
  if (status === 415) return new AppError('unsupported_media_type');
  if (status === 404) return new AppError('not_found');
  if (status >= 400 && status < 500) return new AppError('validation_failed', fe.message);
  return toAppError(err);
}

/**
 * Builds the public listener: the HTTP chat API under `/v1/` (and, later, Slack's events route).
 * Every failure is a problem JSON answer with a stable code; clients' mistakes are never 5xx.
 */
export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const { config, metrics } = deps;
  const env = config.env;
  const keys = new ApiKeyRegistry(config.apiKeys);
  const app = Fastify({
    loggerInstance: deps.logger.child(
      { listener: 'http' },
      { serializers: { req: (r: FastifyRequest) => ({ method: r.method, path: r.url.split('?')[0] }) } },
    ) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'req_id' }),
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: env.HTTP_BODY_LIMIT_BYTES,
    trustProxy: env.HTTP_TRUST_PROXY,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestTimeout: env.HTTP_BODY_TIMEOUT_MS + 5000,
    clientErrorHandler,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
    },
  });
  registerJsonBody(app, env.HTTP_BODY_LIMIT_BYTES, env.HTTP_BODY_TIMEOUT_MS);

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done(authenticate(request, keys));
  });

  // Requests refused before a user is known spend a per-address budget, so every answer carries
  // real rate-limit headers and nobody can guess keys or send garbage without limit.
  app.setErrorHandler(async (error: FastifyError | AppError, request, reply) => {
    let err = normalise(error);
    if (!request.rateLimited) {
      try {
        const rule = deps.rateLimiter.unauthenticatedRule;
        request.rateLimited = await deps.rateLimiter.consume({ key: `ip:${request.ip}` }, rule);
        setRateLimitHeaders(reply, request.rateLimited, false);
      } catch (limitErr) {
        const limited = toAppError(limitErr);
        if ('state' in limited) {
          request.rateLimited = (limited as unknown as { state: RateLimitState }).state;
          setRateLimitHeaders(reply, request.rateLimited, true);
          err = limited;
        }
      }
    }
    request.problemCode = err.code;
    if (err.status >= 500 && err.code === 'internal') request.log.error({ err: error }, 'request failed');
    if (
      err.code === 'payload_too_large' ||
      err.code === 'request_timeout' ||
      err.code === 'client_closed_request'
    ) {
      reply.header('connection', 'close');
    }
    return sendProblem(reply, err);
  });

  app.setNotFoundHandler(async (request) => {
    throw new AppError('not_found', `${request.method} ${request.url.split('?')[0]} does not exist`);
  });

  app.addHook('onResponse', (request, reply, done) => {
    const seconds = reply.elapsedTime / 1000;
    if (request.problemCode && !request.reachedPipeline) {
      metrics.recordRejected(request.problemCode);
      if (request.url.startsWith('/v1/chat'))
        metrics.recordRequest('http', seconds, typeOf(request.problemCode));
    }
    if ((request.log as Logger).isLevelEnabled('info')) {
      request.log.info(
        {
          method: request.method,
          path: request.url.split('?')[0],
          status: reply.statusCode,
          code: request.problemCode,
          duration_ms: Math.round(reply.elapsedTime),
          key: request.apiKey?.name,
        },
        'request',
      );
    }
    done();
  });

  app.get('/v1/openapi.json', async () => openApiDocument(env.MESSAGE_MAX_CHARS));
  registerChatRoutes(app, deps);
  registerUserDataRoutes(app, deps);
  return app;
}

export { problemOf };
