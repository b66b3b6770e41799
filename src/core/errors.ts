/**
 * The one errors module: every error the service reports has a stable string `code`.
 * Codes map to an HTTP status and a metrics error type here and nowhere else.
 */

/** Error categories reported in metrics (`errors_by_type`). */
export const ERROR_TYPES = [
  'redis',
  'api',
  'llm',
  'rate_limit',
  'auth',
  'timeout',
  'validation',
  'overload',
  'internal',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

interface CodeInfo {
  readonly status: number;
  readonly type: ErrorType;
  readonly title: string;
}

/** Every stable error code, with its HTTP status, metrics type and a human title. */
export const ERROR_CODES = {
  invalid_json: { status: 400, type: 'validation', title: 'Malformed JSON body' },
  validation_failed: { status: 400, type: 'validation', title: 'Request failed validation' },
  api_key_in_query: { status: 400, type: 'auth', title: 'API keys are not accepted in the query string' },
  invalid_header: { status: 400, type: 'validation', title: 'Invalid header value' },
  unauthorized: { status: 401, type: 'auth', title: 'Missing or unknown API key' },
  forbidden: { status: 403, type: 'auth', title: 'Not allowed' },
  not_found: { status: 404, type: 'validation', title: 'Not found' },
  method_not_allowed: { status: 405, type: 'validation', title: 'Method not allowed' },
  not_acceptable: { status: 406, type: 'validation', title: 'Not acceptable' },
  request_timeout: { status: 408, type: 'validation', title: 'The request body did not arrive in time' },
  idempotency_in_progress: {
    status: 409,
    type: 'validation',
    title: 'A request with this Idempotency-Key is in progress',
  },
  payload_too_large: { status: 413, type: 'validation', title: 'Request body too large' },
  unsupported_media_type: { status: 415, type: 'validation', title: 'Unsupported content type' },
  idempotency_key_reused: {
    status: 422,
    type: 'validation',
    title: 'This Idempotency-Key was used with a different request',
  },
  client_closed_request: { status: 499, type: 'validation', title: 'The client went away before the answer' },
  rate_limited: { status: 429, type: 'rate_limit', title: 'Too many requests' },
  token_budget_exhausted: {
    status: 429,
    type: 'rate_limit',
    title: "Today's token budget for this user is spent",
  },
  internal: { status: 500, type: 'internal', title: 'Internal error' },
  llm_error: { status: 502, type: 'llm', title: 'The language model failed' },
  upstream_error: { status: 502, type: 'api', title: 'An upstream service failed' },
  llm_auth: { status: 502, type: 'llm', title: 'The language model rejected our API key' },
  llm_bad_request: { status: 502, type: 'llm', title: 'The language model refused the request' },
  llm_quota: { status: 503, type: 'llm', title: 'The language model quota or rate limit is exhausted' },
  llm_timeout: { status: 504, type: 'llm', title: 'The language model did not answer in time' },
  upstream_auth: { status: 502, type: 'api', title: 'An upstream service rejected our API key' },
  upstream_bad_request: { status: 502, type: 'api', title: 'An upstream service refused the request' },
  upstream_quota: { status: 503, type: 'api', title: 'An upstream service quota or rate limit is exhausted' },
  upstream_not_configured: { status: 503, type: 'api', title: 'An upstream service is not configured' },
  upstream_timeout: { status: 504, type: 'api', title: 'An upstream service did not answer in time' },
  llm_not_configured: { status: 503, type: 'llm', title: 'The language model is not configured' },
  overloaded: { status: 503, type: 'overload', title: 'The service is overloaded' },
  shutting_down: { status: 503, type: 'overload', title: 'The service is shutting down' },
  agent_timeout: { status: 504, type: 'timeout', title: 'The assistant did not answer in time' },
  // Durable data, backups and ops commands.
  data_invalid: { status: 400, type: 'validation', title: 'Invalid user id, title or stored value' },
  data_corrupt: { status: 500, type: 'internal', title: 'A stored file is unreadable' },
  data_busy: { status: 503, type: 'overload', title: 'The record is being updated elsewhere; try again' },
  data_locked: { status: 409, type: 'validation', title: 'The data folder is in use' },
  user_forgotten: {
    status: 409,
    type: 'validation',
    title: 'The user asked to be forgotten while this message was being answered',
  },
  backup_not_found: { status: 404, type: 'validation', title: 'No such backup archive' },
  backup_invalid: { status: 422, type: 'validation', title: 'The backup archive failed verification' },
  backup_failed: { status: 500, type: 'internal', title: 'The backup operation failed' },
  redis_unavailable: { status: 503, type: 'redis', title: 'Redis is unreachable' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** HTTP status for a code. */
export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** Metrics error type for a code. */
export function typeOf(code: ErrorCode): ErrorType {
  return ERROR_CODES[code].type;
}

/** The base error: a stable code, a message safe to show a client, an optional cause. */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** Extra fields for the problem body (never secrets). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(
    code: ErrorCode,
    message?: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(
      message ?? ERROR_CODES[code].title,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'AppError';
    this.code = code;
    this.details = options?.details;
  }
  get status(): number {
    return statusOf(this.code);
  }
}

/** Rate limit state for one subject, as the headers need it. */
export interface RateLimitState {
  /** Points per window. */
  readonly limit: number;
  readonly remaining: number;
  /** Milliseconds until the window resets. */
  readonly resetMs: number;
  readonly windowSeconds: number;
}

/** A rate-limited call: carries when to retry and the limit state for headers. */
export class RateLimitedError extends AppError {
  readonly retryAfterMs: number;
  readonly state: RateLimitState;
  constructor(state: RateLimitState) {
    super('rate_limited', `Rate limit of ${state.limit} per ${state.windowSeconds}s reached; retry later`);
    this.name = 'RateLimitedError';
    this.state = state;
    this.retryAfterMs = state.resetMs;
  }
}

/** Load shedding: carries when to retry. */
export class OverloadedError extends AppError {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number, message?: string) {
    super('overloaded', message);
    this.name = 'OverloadedError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** Normalises anything thrown into an {@link AppError}; unknown errors become `internal`. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('internal', undefined, { cause: err });
}
