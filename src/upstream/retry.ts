import { abortReason, remainingMs, sleep } from '../core/abort.js';
import { UpstreamError } from './upstream-error.js';

/** How an upstream call is retried. */
export interface RetryPolicy {
  /** Attempts after the first (0 = never retry). */
  readonly maxRetries: number;
  /** Backoff before the first retry; doubles each time. */
  readonly baseDelayMs: number;
  /** Cap of the exponential backoff. */
  readonly maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the error is passed on instead. */
  readonly maxRetryAfterMs: number;
}

/** One retry about to happen, for logs. */
export interface RetryEvent {
  /** 1 for the first retry. */
  readonly retry: number;
  readonly delayMs: number;
  readonly error: UpstreamError;
}

/** Per-call context of {@link withRetries}. */
export interface RetryContext {
  /** Stops waiting and retrying at once when it aborts (its reason is thrown). */
  readonly signal?: AbortSignal;
  /** Epoch ms after which no retry is started: a wait that would end past it is not begun. */
  readonly deadline?: number;
  /** Source of jitter in [0, 1); Math.random by default (tests pass a fixed one). */
  readonly random?: () => number;
  readonly onRetry?: (event: RetryEvent) => void;
}

/**
 * The wait before retry number `retry` (1-based): exponential backoff with "equal jitter"
 * (half fixed, half random, so it never collapses to zero), capped at `maxDelayMs`. A server's
 * Retry-After is a floor: we wait at least that long plus a little jitter, so that many clients
 * told the same instant do not all come back at once.
 */
export function backoffDelay(
  policy: RetryPolicy,
  retry: number,
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  if (retryAfterMs === undefined) return Math.round(jittered);
  const spread = Math.min(policy.baseDelayMs, 1000) * random();
  return Math.round(Math.max(retryAfterMs + spread, jittered));
}

/**
 * Runs `attempt` and retries it on retryable {@link UpstreamError}s (quota/429, server/5xx, network),
 * honouring Retry-After, until `maxRetries` is spent, the wait would pass the deadline, or the signal
 * aborts. Whatever stops the retries, the last typed error is thrown (or the signal's reason).
 */
export async function withRetries<T>(
  attempt: (index: number) => Promise<T>,
  policy: RetryPolicy,
  context: RetryContext = {},
): Promise<T> {
  const random = context.random ?? Math.random;
  for (let index = 0; ; index++) {
    try {
      return await attempt(index);
    } catch (err) {
      if (context.signal?.aborted) throw abortReason(context.signal);
      if (!(err instanceof UpstreamError) || !err.retryable || index >= policy.maxRetries) throw err;
      if (err.retryAfterMs !== undefined && err.retryAfterMs > policy.maxRetryAfterMs) throw err;
      const delayMs = backoffDelay(policy, index + 1, random, err.retryAfterMs);
      if (delayMs >= remainingMs(context.deadline)) throw err;
      context.onRetry?.({ retry: index + 1, delayMs, error: err });
      await sleep(delayMs, context.signal);
    }
  }
}
