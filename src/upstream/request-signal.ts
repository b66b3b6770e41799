/**
 * The AbortSignal of one outbound request: it aborts with the caller's signal (and its reason) or
 * when the request's time is up (a `TimeoutError`). One controller per request, linked to the
 * caller by a listener. `AbortSignal.any([caller, timeout])` made a second signal per request, a
 * composite that Node 20 keeps listed in the caller's signal for good, and on Node 20 every signal
 * is a hidden class of its own in the old generation (see core/controller-pool.ts).
 */
export class RequestSignal {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private expired = false;
  private readonly onCallerAbort = () => this.controller.abort(this.caller?.reason);

  constructor(
    private readonly caller: AbortSignal | undefined,
    timeoutMs: number,
    upstream: string,
  ) {
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort(new DOMException(`${upstream} timed out`, 'TimeoutError'));
    }, timeoutMs);
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the request's time ran out (not the caller's abort). */
  get timedOut(): boolean {
    return this.expired;
  }

  /** Stops the timer; the caller's abort still reaches a response body being read. */
  stopTimer(): void {
    clearTimeout(this.timer);
  }

  /** Stops the timer and unlinks the caller's signal: the request is over, body included. */
  release(): void {
    this.stopTimer();
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}
