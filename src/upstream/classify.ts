import { isAbortError } from '../core/abort.js';
import { AppError } from '../core/errors.js';
import {
  kindOfStatus,
  parseRetryAfter,
  UpstreamError,
  type UpstreamErrorKind,
  type UpstreamErrorType,
} from './upstream-error.js';

/**
 * Turns whatever an SDK threw (the OpenAI SDK's `APIError` with `status`/`headers`, its connection
 * errors, LangChain's wrappers, or our own errors carried as `cause`) into an {@link AppError}:
 * an {@link AppError} found anywhere in the cause chain is returned as is (so an `OverloadedError`
 * or `UpstreamError` thrown by {@link Upstream.fetch} comes back out); otherwise a typed
 * {@link UpstreamError}. Abort and timeout errors become `timeout`: check your own signal first
 * if an abort should be reported differently.
 */
export function classifyUpstreamError(err: unknown, upstream: string, type: UpstreamErrorType): AppError {
  const chain = causeChain(err);
  for (const e of chain) if (e instanceof AppError) return e;
  for (const e of chain) {
    const status = (e as { status?: unknown }).status;
    if (typeof status === 'number') {
      // OpenAI answers 429 both for rate limits and for an exhausted quota: both are `quota`.
      const kind = kindOfStatus(status) ?? 'server';
      const headers = (e as { headers?: unknown }).headers;
      const retryAfterMs = headers instanceof Headers ? parseRetryAfter(headers) : undefined;
      return new UpstreamError({ upstream, type, kind, httpStatus: status, retryAfterMs, cause: err });
    }
  }
  const kind: UpstreamErrorKind = chain.some(
    (e) => isAbortError(e) || (e as Error)?.constructor?.name === 'APIConnectionTimeoutError',
  )
    ? 'timeout'
    : chain.some((e) =>
          /Connection|ECONNREFUSED|ECONNRESET|fetch failed/i.test(String((e as Error)?.message ?? e)),
        )
      ? 'network'
      : 'server';
  return new UpstreamError({ upstream, type, kind, cause: err });
}

function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null && out.length < 8 && !out.includes(e)) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}
