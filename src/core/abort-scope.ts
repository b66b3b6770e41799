import { type AbortControllerPool, newController } from './controller-pool.js';

/**
 * The core's own abort state: what an AbortController is to the outside, without building an
 * AbortSignal until something outside asks for one ({@link signal}: a model call, a fetch).
 *
 * Node 20 builds every AbortSignal with a hidden class of its own (`Object.setPrototypeOf` on an
 * EventTarget, then new properties): one costs a few microseconds, its listeners go through
 * EventTarget's validation, and its hidden class is garbage in the old generation until a full
 * GC. A message used to make four (pipeline, answer flight, agent run, tool step): in a CPU
 * profile of the agent benchmark's workload, AbortController and EventTarget code took 11 % of the
 * busy time, and 1.9 % with scopes, where a message answered from the tool cache makes one signal
 * (the agent run's, for its model calls). What survives a young GC per message fell from 6.3 KB
 * to 3.7 KB (sampling heap profile). That one is now reused from run to run: a scope made with an
 * {@link AbortControllerPool} takes its signal from the pool and gives it back when it {@link end}s.
 */
export class AbortScope {
  private controller: AbortController | undefined;
  private listeners: (() => void)[] | undefined;
  private stopped = false;
  private why: unknown;

  /** With a pool, the signal comes from it and goes back to it when the scope {@link end}s. */
  constructor(private readonly pool?: AbortControllerPool) {}

  get aborted(): boolean {
    return this.stopped;
  }

  /** Why it aborted (undefined until then). */
  get reason(): unknown {
    return this.why;
  }

  /** An AbortSignal that aborts with this scope, made on first use (already aborted if the scope is). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = this.pool && !this.stopped ? this.pool.take() : newController();
      if (this.stopped) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  /**
   * Aborts (a no-op once aborted) with `reason`, or a DOMException `AbortError` as
   * AbortController does; then the signal's listeners and this scope's own, in that order.
   */
  abort(reason?: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.why = reason ?? new DOMException('This operation was aborted', 'AbortError');
    this.controller?.abort(this.why);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  /**
   * Ends the scope as {@link abort} does, except that its AbortSignal, when one was made, goes back
   * to the pool instead of aborting (aborted after all when the pool will not take it). Only for
   * work that is completely over: nothing of it still running or holding the signal, which from
   * now on is another scope's.
   */
  end(reason?: unknown): void {
    if (this.stopped) return;
    const controller = this.controller;
    if (controller && this.pool?.give(controller)) this.controller = undefined;
    this.abort(reason);
  }

  /** Calls `listener` once, when the scope aborts (never if it already has: check {@link aborted}). */
  onAbort(listener: () => void): void {
    if (this.stopped) return;
    if (this.listeners) this.listeners.push(listener);
    else this.listeners = [listener];
  }

  offAbort(listener: () => void): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at !== -1) this.listeners?.splice(at, 1);
  }

  /**
   * Aborts with `parent`, with its reason (at once if it already has); returns what undoes the
   * link, to call when this scope's work is over.
   */
  follow(parent: StopSource): () => void {
    const onParentAbort = () => this.abort(abortReason(parent));
    if (parent.aborted) {
      onParentAbort();
      return noop;
    }
    onStop(parent, onParentAbort);
    return () => offStop(parent, onParentAbort);
  }
}

const noop = (): void => undefined;

/** What to throw when `source` has aborted: its reason, or a standard AbortError. */
export function abortReason(source: StopSource): unknown {
  return source.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** What can stop work in the core: an AbortSignal from outside, or an {@link AbortScope}. */
export type StopSource = AbortSignal | AbortScope;

/** Calls `listener` once when `source` aborts (never if it already has). */
export function onStop(source: StopSource, listener: () => void): void {
  if (source instanceof AbortScope) source.onAbort(listener);
  else source.addEventListener('abort', listener, { once: true });
}

/** Undoes {@link onStop}. */
export function offStop(source: StopSource, listener: () => void): void {
  if (source instanceof AbortScope) source.offAbort(listener);
  else source.removeEventListener('abort', listener);
}

/** The AbortSignal of `source`, for code outside the core (made on first use for a scope). */
export function signalOf(source: StopSource): AbortSignal {
  return source instanceof AbortScope ? source.signal : source;
}
