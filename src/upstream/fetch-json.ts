import { abortReason } from '../core/abort.js';
import { RequestSignal } from './request-signal.js';
import { kindOfStatus, parseRetryAfter, UpstreamError, type UpstreamErrorType } from './upstream-error.js';

/** Options of {@link fetchJson}. */
export interface FetchJsonOptions {
  /** Upstream name, for errors (`realty_us`, `nominatim`, ...). */
  readonly upstream: string;
  /** Metrics type of failures: `api` (default) or `llm`. */
  readonly type?: UpstreamErrorType;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Bounds the whole exchange: connecting, headers and the body. */
  readonly timeoutMs: number;
  /** The caller's signal: when it aborts, the request is cut and its reason is thrown. */
  readonly signal?: AbortSignal;
  /** Largest body accepted (default 5 MiB); a larger one is a `server` error. */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;

/**
 * GETs or POSTs with the global fetch and returns the parsed JSON body. Every failure is an
 * {@link UpstreamError}: non-2xx by status (401/403 auth, 429 quota with Retry-After, 5xx server,
 * other 4xx bad_request), `timeout` after `timeoutMs`, `network` when unreachable, `server` for a
 * body that is not JSON or too large. When the caller's signal aborts, its reason is thrown instead.
 * The timer is always cleared and an unread body is cancelled, so no socket or timer is left behind.
 */
export async function fetchJson<T = unknown>(url: string | URL, options: FetchJsonOptions): Promise<T> {
  const text = await fetchText(url, options);
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UpstreamError({
      upstream: options.upstream,
      type: options.type ?? 'api',
      kind: 'server',
      message: `${options.upstream} answered with something that is not JSON`,
      cause: err,
    });
  }
}

/** As {@link fetchJson}, returning the body as text. */
export async function fetchText(url: string | URL, options: FetchJsonOptions): Promise<string> {
  const { upstream, signal: callerSignal } = options;
  const type = options.type ?? 'api';
  if (callerSignal?.aborted) throw abortReason(callerSignal);
  const request = new RequestSignal(callerSignal, options.timeoutMs, upstream);
  const fail = (err: unknown): never => {
    if (err instanceof UpstreamError) throw err;
    if (callerSignal?.aborted) throw abortReason(callerSignal);
    if (request.timedOut) throw new UpstreamError({ upstream, type, kind: 'timeout', cause: err });
    throw new UpstreamError({ upstream, type, kind: 'network', cause: err });
  };
  try {
    const res = await fetch(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.body,
      signal: request.signal,
    }).catch(fail);
    const kind = kindOfStatus(res.status);
    if (kind !== undefined || !res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new UpstreamError({
        upstream,
        type,
        kind: kind ?? 'server',
        httpStatus: res.status,
        retryAfterMs: parseRetryAfter(res.headers),
      });
    }
    return await readBounded(res, options.maxBytes ?? DEFAULT_MAX_BYTES, upstream, type).catch(fail);
  } finally {
    request.release();
  }
}

async function readBounded(
  res: Response,
  maxBytes: number,
  upstream: string,
  type: UpstreamErrorType,
): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new UpstreamError({
        upstream,
        type,
        kind: 'server',
        message: `${upstream} answered with more than ${maxBytes} bytes`,
      });
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}
