/**
 * Small helpers for work that must stop when an AbortSignal (or the core's AbortScope) fires,
 * leaving no timer or listener behind.
 */
import { abortReason, offStop, onStop, type StopSource } from './abort-scope.js';

export { abortReason };

/** True for the errors fetch and AbortSignal produce when aborted or timed out. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts (the timer is cleared either way). */
export function sleep(ms: number, signal?: StopSource): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as StopSource));
    };
    const timer = setTimeout(() => {
      if (signal) offStop(signal, onAbort);
      resolve();
    }, ms);
    if (signal) onStop(signal, onAbort);
  });
}

/**
 * Settles with `promise`, or rejects with the signal's reason when it aborts first. The promise
 * itself keeps running (its rejection is handled), so use this to let one waiter leave shared work.
 */
export function raceSignal<T>(promise: Promise<T>, signal?: StopSource): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    onStop(signal, onAbort);
    promise.then(
      (v) => {
        offStop(signal, onAbort);
        resolve(v);
      },
      (e: unknown) => {
        offStop(signal, onAbort);
        reject(e);
      },
    );
  });
}

/** Milliseconds left before `deadline` (epoch ms); Infinity without one. */
export function remainingMs(deadline: number | undefined, now: number = Date.now()): number {
  return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - now;
}
