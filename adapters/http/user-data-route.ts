import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, RateLimitedError } from '../../src/core/errors.js';
import type { Logger } from '../../src/logging/logger.js';
import { setRateLimitHeaders } from './problem.js';
import type { HttpDeps } from './server.js';

/** Where the "forget me" request names its user: `?user_id=` or a JSON body `{"user_id": ...}`. */
export interface ForgetInput {
  user_id?: string;
}

const USER_ID = { type: 'string', pattern: '^[A-Za-z0-9._@:-]{1,128}$' } as const;

/** JSON schema of the query and of the (optional) body of `DELETE /v1/users/me/memory`. */
export const forgetInputSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { user_id: USER_ID },
} as const;

/** The namespaced user the request speaks for: `http:<key name>:<user_id or "default">`, as in /v1/chat. */
function userOf(
  request: FastifyRequest<{ Querystring: ForgetInput; Body: ForgetInput | undefined }>,
): string {
  const key = request.apiKey;
  if (!key) throw new AppError('unauthorized');
  const fromQuery = request.query.user_id;
  const fromBody = request.body?.user_id;
  if (fromQuery !== undefined && fromBody !== undefined && fromQuery !== fromBody)
    throw new AppError('validation_failed', 'user_id differs between the query and the body');
  return `http:${key.name}:${fromQuery ?? fromBody ?? 'default'}`;
}

/**
 * `DELETE /v1/users/me/memory`: "forget me" over HTTP. Deletes what the assistant remembers about
 * the user and every conversation of theirs (the same as the `/realty-forget` chat command). The
 * user is the API key's: `user_id` (query or JSON body) selects one of that key's users, exactly
 * as in `POST /v1/chat`, so a key can never reach another key's users. Spends one rate-limit point.
 */
export function registerUserDataRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const eraser = deps.userData;
  app.delete<{ Querystring: ForgetInput; Body: ForgetInput | undefined }>(
    '/v1/users/me/memory',
    { schema: { querystring: forgetInputSchema } },
    async (request, reply) => {
      if (request.body !== undefined && (typeof request.body !== 'object' || request.body === null))
        throw new AppError('validation_failed', 'The request body must be a JSON object');
      const extra = Object.keys(request.body ?? {}).filter((k) => k !== 'user_id');
      if (extra.length > 0)
        throw new AppError('validation_failed', `The request body has unknown fields: ${extra.join(', ')}`);
      const body = request.body?.user_id;
      if (body !== undefined && (typeof body !== 'string' || !new RegExp(USER_ID.pattern).test(body)))
        throw new AppError('validation_failed', 'user_id must be 1-128 of A-Z a-z 0-9 . _ @ : -');
      const userId = userOf(request);
      const state = await deps.rateLimiter
        .consume({ key: userId, platform: 'http', tenant: request.apiKey?.name })
        .catch((err: unknown) => {
          if (err instanceof RateLimitedError) {
            request.rateLimited = err.state;
            setRateLimitHeaders(reply, err.state, true);
          }
          throw err;
        });
      request.rateLimited = state;
      setRateLimitHeaders(reply, state, false);
      if (!eraser) throw new AppError('not_found', 'This server keeps no user data');
      const outcome = await eraser.forget(userId);
      (request.log as Logger).info(
        {
          memory_deleted: outcome.memoryDeleted,
          conversations_deleted: outcome.conversationsDeleted,
          complete: outcome.complete,
        },
        'user data erased on request',
      );
      if (!outcome.complete) {
        throw new AppError(
          'redis_unavailable',
          'The remembered facts were deleted, but the conversation store (Redis) is unreachable, so ' +
            'the conversation history is still kept: send this request again',
        );
      }
      return {
        user_id: request.query.user_id ?? body ?? 'default',
        memory_deleted: outcome.memoryDeleted,
        conversations_deleted: outcome.conversationsDeleted,
      };
    },
  );

  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH'],
    url: '/v1/users/me/memory',
    handler: async (_request, reply) => {
      reply.header('allow', 'DELETE');
      throw new AppError('method_not_allowed', 'Use DELETE /v1/users/me/memory');
    },
  });
}
