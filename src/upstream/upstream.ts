import { abortReason } from '../core/abort.js';
import { AppError, type ErrorType, OverloadedError } from '../core/errors.js';
import type { Logger } from '../logging/logger.js';
import { type FetchJsonOptions, fetchJson } from './fetch-json.js';
import type { UpstreamLimiter } from './limiter.js';
import { RequestSignal } from './request-signal.js';
import { type RetryPolicy, withRetries } from './retry.js';
import {
  kindOfStatus,
  parseRetryAfter,
  UpstreamError,
  type UpstreamErrorKind,
  type UpstreamErrorType,
} from './upstream-error.js';

/** Options of {@link Upstream}. */
export interface UpstreamOptions {
  /** `llm`, `realty_us`, `nominatim`, `overpass`. */
  readonly name: string;
  /** Metrics type of its failures: `llm` for the model, `api` for data services. */
  readonly type: UpstreamErrorType;
  readonly limiter: UpstreamLimiter;
  readonly retry: RetryPolicy;
  /** Per-request timeout (for {@link Upstream.fetch}: until the response headers). */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /**
   * Called once per failed call (after its retries), with the metrics type to count it under
   * (`api`/`llm`, or `overload` when shed), the error and this upstream's name: wire it to
   * `ServiceMetrics.recordErrorEvent`.
   */
  readonly onError?: (type: ErrorType, err: AppError, upstream: string) => void;
  /** The variable holding this upstream's key, named in the single "bad key" log line. */
  readonly keyVariable?: string;
  /** Jitter source (tests pass a fixed one). */
  readonly random?: () => number;
}

/** Per-call options: the caller's signal and time budget. */
export interface CallOptions {
  /** Aborts the call at once (queue, reservoir wait, request, backoff); its reason is thrown. */
  readonly signal?: AbortSignal;
  /** Epoch ms: no retry or reservoir wait is begun that would end after it. */
  readonly deadline?: number;
}

/** Request fields of {@link Upstream.fetchJson}. */
export type JsonRequest = Pick<FetchJsonOptions, 'method' | 'headers' | 'body' | 'maxBytes'>;

/** An upstream's state for `/health`. */
export interface UpstreamHealth {
  readonly status: 'ok' | 'failing';
  /** Kind of the last failure, while the last call failed. */
  readonly last_error?: UpstreamErrorKind;
  readonly running: number;
  readonly queued: number;
}

/** A failure carrying the response an SDK should still see (see {@link Upstream.fetch}). */
const responses = new WeakMap<UpstreamError, Response>();

/**
 * One outbound dependency: every call goes through its limiter (concurrency, bounded queue,
 * shared reservoir), is retried with jittered backoff on 429/5xx/network errors honouring
 * Retry-After within the caller's signal and deadline, and fails with a typed {@link UpstreamError}.
 * Failures are counted through `onError`; a rejected key is logged once as such, not per request.
 */
export class Upstream {
  readonly name: string;
  readonly type: UpstreamErrorType;
  readonly limiter: UpstreamLimiter;
  private readonly o: UpstreamOptions;
  private readonly log: Logger;
  private authLogged = false;
  private lastError: UpstreamErrorKind | undefined;

  constructor(options: UpstreamOptions) {
    if (!(options.timeoutMs > 0)) throw new RangeError(`upstream ${options.name}: timeoutMs must be > 0`);
    this.o = options;
    this.name = options.name;
    this.type = options.type;
    this.limiter = options.limiter;
    this.log = options.logger.child({ component: 'upstream', upstream: options.name });
  }

  /**
   * Runs one logical call: each attempt waits for the limiter, then runs `attempt`, which should
   * throw {@link UpstreamError}s (as {@link fetchJson} does) so that retryable failures are retried.
   */
  async call<T>(
    attempt: (signal: AbortSignal | undefined) => Promise<T>,
    options: CallOptions = {},
  ): Promise<T> {
    return this.callWith(attempt, options, this.o.retry);
  }

  /** GET/POST JSON through {@link call}, with this upstream's timeout. */
  fetchJson<T = unknown>(
    url: string | URL,
    request: JsonRequest = {},
    options: CallOptions = {},
  ): Promise<T> {
    return this.call(
      (signal) =>
        fetchJson<T>(url, {
          ...request,
          upstream: this.name,
          type: this.type,
          timeoutMs: this.o.timeoutMs,
          signal,
        }),
      options,
    );
  }

  /**
   * A `fetch` for SDKs (`new ChatOpenAI({ configuration: { fetch: upstream.fetch } })`, with the
   * SDK's own retries off): each HTTP request waits for the limiter and is retried on 429/5xx and
   * network errors honouring Retry-After (`retry-after-ms` too), within `init.signal`. The final
   * response is returned even when it is an error (the SDK builds its usual error from it), after
   * being counted and, for a rejected key, logged once. A network failure, a timeout (until the
   * headers arrive; the body is bounded by the caller's signal) or shedding throws our typed error,
   * which SDKs keep as `cause` (see {@link classifyUpstreamError}).
   */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal ?? undefined;
    const body = init?.body;
    const replayable =
      !(input instanceof Request && input.body !== null) &&
      (body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array);
    const policy = replayable ? this.o.retry : { ...this.o.retry, maxRetries: 0 };
    try {
      return await this.callWith(
        async () => {
          const res = await this.fetchOnce(input instanceof Request ? input.clone() : input, init, signal);
          const kind = kindOfStatus(res.status);
          if (kind === undefined) return res;
          const err = new UpstreamError({
            upstream: this.name,
            type: this.type,
            kind,
            httpStatus: res.status,
            retryAfterMs: parseRetryAfter(res.headers),
          });
          responses.set(err, res);
          throw err;
        },
        { signal },
        policy,
      );
    } catch (err) {
      const res = err instanceof UpstreamError ? responses.get(err) : undefined;
      if (res) return res;
      throw err;
    }
  };

  /** `ok`, or `failing` while the last call failed (a bad key, a dead server). */
  health(): UpstreamHealth {
    return {
      status: this.lastError === undefined ? 'ok' : 'failing',
      ...(this.lastError === undefined ? {} : { last_error: this.lastError }),
      running: this.limiter.running,
      queued: this.limiter.queued,
    };
  }

  /** Stops the limiter: waiting calls fail with `shutting_down`. */
  stop(): Promise<void> {
    return this.limiter.stop();
  }

  private async callWith<T>(
    attempt: (signal: AbortSignal | undefined) => Promise<T>,
    options: CallOptions,
    policy: RetryPolicy,
  ): Promise<T> {
    const { signal, deadline } = options;
    try {
      const value = await withRetries(
        () => this.limiter.run(() => attempt(signal), { signal, deadline }),
        policy,
        {
          signal,
          deadline,
          random: this.o.random,
          onRetry: ({ retry, delayMs, error }) => {
            responses
              .get(error)
              ?.body?.cancel()
              .catch(() => undefined);
            this.log.info(
              { retry, delay_ms: delayMs, kind: error.kind, http_status: error.httpStatus },
              `${this.name}: retrying after a ${error.kind} failure`,
            );
          },
        },
      );
      this.succeeded();
      return value;
    } catch (err) {
      this.failed(err, signal);
      throw err;
    }
  }

  private async fetchOnce(
    input: string | URL | Request,
    init: RequestInit | undefined,
    callerSignal: AbortSignal | undefined,
  ): Promise<Response> {
    if (callerSignal?.aborted) throw abortReason(callerSignal);
    // The timeout bounds the wait for the headers; the caller (the SDK, with a signal per request)
    // stays linked while it reads the body.
    const request = new RequestSignal(callerSignal, this.o.timeoutMs, this.name);
    try {
      return await fetch(input, { ...init, signal: request.signal });
    } catch (err) {
      if (callerSignal?.aborted) throw err;
      const kind = request.timedOut ? 'timeout' : 'network';
      throw new UpstreamError({ upstream: this.name, type: this.type, kind, cause: err });
    } finally {
      request.stopTimer();
    }
  }

  private succeeded(): void {
    if (this.lastError === 'auth') this.log.info(`${this.name}: the API key is accepted again`);
    this.lastError = undefined;
    this.authLogged = false;
  }

  private failed(err: unknown, signal: AbortSignal | undefined): void {
    if (signal?.aborted && !(err instanceof AppError)) return; // the caller gave up: its own budget counts it
    if (err instanceof OverloadedError) {
      this.o.onError?.('overload', err, this.name);
      this.log.warn({ retry_after_ms: err.retryAfterMs }, `${this.name}: call shed (${err.message})`);
      return;
    }
    if (!(err instanceof UpstreamError)) return;
    this.lastError = err.kind;
    this.o.onError?.(err.errorType, err, this.name);
    const fields = { code: err.code, kind: err.kind, http_status: err.httpStatus };
    if (err.kind === 'auth') {
      if (this.authLogged) {
        this.log.debug(fields, `${this.name}: API key rejected again`);
        return;
      }
      this.authLogged = true;
      const variable = this.o.keyVariable ? `: check ${this.o.keyVariable}` : '';
      this.log.error(
        fields,
        `${this.name} rejected the API key${variable} (logged once until a call succeeds again)`,
      );
      return;
    }
    this.log.warn(fields, `${this.name} call failed: ${err.message}`);
  }
}
