import type { FastifyReply } from 'fastify';
import { AppError, ERROR_CODES, type ErrorCode, type RateLimitState } from '../../src/core/errors.js';

/** An RFC 9457 problem body with our stable `code`. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly [extra: string]: unknown;
}

/** Builds the problem body for an error. */
export function problemOf(err: AppError, extra?: Record<string, unknown>): Problem {
  return {
    type: `urn:real-estate-ai:problem:${err.code}`,
    title: ERROR_CODES[err.code].title,
    status: err.status,
    code: err.code,
    detail: err.message,
    ...err.details,
    ...extra,
  };
}

/**
 * Sets the rate-limit headers: the IETF httpapi draft's `RateLimit-Policy` and `RateLimit`,
 * and the common `X-RateLimit-*`; `Retry-After` too when the budget is spent.
 */
export function setRateLimitHeaders(reply: FastifyReply, s: RateLimitState, limited: boolean): void {
  const resetSeconds = Math.max(0, Math.ceil(s.resetMs / 1000));
  reply.header('ratelimit-policy', `"default";q=${s.limit};w=${s.windowSeconds}`);
  reply.header('ratelimit', `"default";r=${Math.max(0, s.remaining)};t=${resetSeconds}`);
  reply.header('x-ratelimit-limit', String(s.limit));
  reply.header('x-ratelimit-remaining', String(Math.max(0, s.remaining)));
  reply.header('x-ratelimit-reset', String(resetSeconds));
  if (limited) reply.header('retry-after', String(Math.max(1, resetSeconds)));
}

/** Sends a problem JSON response for `err`. */
export function sendProblem(
  reply: FastifyReply,
  err: AppError,
  extra?: Record<string, unknown>,
): FastifyReply {
  if (err.code === 'unauthorized') reply.header('www-authenticate', 'Bearer realm="real-estate-ai"');
  if ('retryAfterMs' in err && typeof err.retryAfterMs === 'number' && !reply.hasHeader('retry-after')) {
    reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
  }
  return reply.code(err.status).type('application/problem+json').send(problemOf(err, extra));
}

export { AppError };
