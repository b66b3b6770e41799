import { AppError, type ErrorCode } from '../core/errors.js';

/** The metrics type an upstream's failures count under (`errors_by_type.api` or `.llm`). */
export type UpstreamErrorType = 'api' | 'llm';

/**
 * What went wrong with an upstream call:
 * - `auth`: the upstream rejected our key (401/403), a configuration problem, never retried;
 * - `quota`: rate limited or out of quota (429) after the retries the budget allowed;
 * - `timeout`: no answer within the per-request timeout;
 * - `server`: 5xx or an unreadable answer; `network`: connection refused/reset, DNS;
 * - `bad_request`: another 4xx (our request was wrong), never retried;
 * - `not_configured`: no key or URL configured for this upstream.
 */
export type UpstreamErrorKind =
  | 'auth'
  | 'quota'
  | 'timeout'
  | 'server'
  | 'network'
  | 'bad_request'
  | 'not_configured';

const CODES: Record<UpstreamErrorType, Record<UpstreamErrorKind, ErrorCode>> = {
  api: {
    auth: 'upstream_auth',
    quota: 'upstream_quota',
    timeout: 'upstream_timeout',
    server: 'upstream_error',
    network: 'upstream_error',
    bad_request: 'upstream_bad_request',
    not_configured: 'upstream_not_configured',
  },
  llm: {
    auth: 'llm_auth',
    quota: 'llm_quota',
    timeout: 'llm_timeout',
    server: 'llm_error',
    network: 'llm_error',
    bad_request: 'llm_bad_request',
    not_configured: 'llm_not_configured',
  },
};

/** The stable error code for a failure of an upstream counted under `type`. */
export function upstreamCode(type: UpstreamErrorType, kind: UpstreamErrorKind): ErrorCode {
  return CODES[type][kind];
}

/** Kinds worth another attempt (subject to the time budget and Retry-After). */
const RETRYABLE = new Set<UpstreamErrorKind>(['quota', 'server', 'network']);

/** Fields of an {@link UpstreamError}. */
export interface UpstreamErrorInit {
  /** Upstream name (`realty_us`, `nominatim`, `overpass`, `llm`). */
  readonly upstream: string;
  readonly type: UpstreamErrorType;
  readonly kind: UpstreamErrorKind;
  /** HTTP status the upstream answered, when it answered. */
  readonly httpStatus?: number;
  /** How long the upstream asked us to wait (Retry-After), in milliseconds. */
  readonly retryAfterMs?: number;
  /** Overrides the default: quota, server and network failures are retryable. */
  readonly retryable?: boolean;
  /** A message safe for clients and logs: never a key, never a URL with credentials, never a body. */
  readonly message?: string;
  readonly cause?: unknown;
}

/**
 * A typed upstream failure. Its `code` (`upstream_*` or `llm_*`) carries the HTTP status and the
 * metrics type; `retryAfterMs` (when known) becomes the `Retry-After` header of a 503.
 */
export class UpstreamError extends AppError {
  readonly upstream: string;
  readonly kind: UpstreamErrorKind;
  readonly errorType: UpstreamErrorType;
  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;

  constructor(init: UpstreamErrorInit) {
    const code = upstreamCode(init.type, init.kind);
    super(code, init.message ?? defaultMessage(init), {
      cause: init.cause,
      details: { upstream: init.upstream },
    });
    this.name = 'UpstreamError';
    this.upstream = init.upstream;
    this.kind = init.kind;
    this.errorType = init.type;
    this.httpStatus = init.httpStatus;
    this.retryAfterMs = init.retryAfterMs;
    this.retryable = init.retryable ?? RETRYABLE.has(init.kind);
  }
}

function defaultMessage(init: UpstreamErrorInit): string {
  const status = init.httpStatus === undefined ? '' : ` (HTTP ${init.httpStatus})`;
  switch (init.kind) {
    case 'auth':
      return `${init.upstream} rejected the configured API key${status}`;
    case 'quota':
      return `${init.upstream} rate limit or quota exhausted${status}`;
    case 'timeout':
      return `${init.upstream} did not answer in time`;
    case 'server':
      return `${init.upstream} failed${status}`;
    case 'network':
      return `${init.upstream} could not be reached`;
    case 'bad_request':
      return `${init.upstream} refused the request${status}`;
    case 'not_configured':
      return `${init.upstream} is not configured`;
  }
}

/**
 * Classifies an HTTP status: 401/403 auth, 429 quota, 408 and 5xx server, other 4xx bad request.
 * Returns undefined for 1xx-3xx.
 */
export function kindOfStatus(status: number): UpstreamErrorKind | undefined {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'quota';
  if (status === 408 || status >= 500) return 'server';
  if (status >= 400) return 'bad_request';
  return undefined;
}

/**
 * Parses `Retry-After` (delta seconds or an HTTP date) and OpenAI's `retry-after-ms`.
 * Returns milliseconds (never negative), or undefined when absent or unreadable.
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
