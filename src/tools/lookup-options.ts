import type { StopSource } from '../core/abort-scope.js';

/**
 * Per-call options of the tool clients (listing search, geocoding, market search): the caller's
 * stop and time budget. The stop reaches the shared cache lookup as it is; the upstream request,
 * when one is made, gets an AbortSignal of its own that aborts when every waiting caller has left.
 */
export interface LookupOptions {
  /** Aborts the call at once; its reason is thrown. */
  readonly signal?: StopSource;
  /** Epoch ms: no retry or reservoir wait is begun that would end after it. */
  readonly deadline?: number;
}
