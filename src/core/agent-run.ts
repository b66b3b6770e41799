import { AbortScope } from './abort-scope.js';
import type { AppError } from './errors.js';
import type { AgentAnswer } from './message.js';

/** The error a run that stopped early is answered with: timed out, or aborted with `reason`. */
export type AbortErrorOf = (timedOut: boolean, reason: unknown) => AppError;

/**
 * One agent run under a time budget: one {@link AbortScope} and one cleared timer per message.
 * Whatever stops it (the deadline, the caller going away, shutdown) settles the run with our error
 * first, then fires the agent's signal; a misbehaving agent that ignores its signal cannot hold the
 * message past the budget. AbortSignal.timeout() + AbortSignal.any() did the same but left a timer
 * (AGENT_TIMEOUT_MS long) and WeakRefs behind per message (Node 20): 100k messages in memory mode
 * grew resident memory by ~370 MB instead of ~60 MB and took twice the time.
 */
export class AgentRun {
  /** Aborts when the run is stopped; handed to the agent (its `signal` is made only if read). */
  readonly scope = new AbortScope();
  private readonly timer: NodeJS.Timeout;
  private readonly onSourceAbort: (() => void) | undefined;
  private fail: ((err: AppError) => void) | undefined;
  /** Our error, when the run was stopped before {@link settle} was called. */
  private failure: AppError | undefined;

  /**
   * @param errorOf turns an abort into the error the message is answered with
   * @param source the caller's signal, when it has one (the run stops when it fires)
   */
  constructor(
    timeoutMs: number,
    private readonly errorOf: AbortErrorOf,
    private readonly source?: AbortSignal,
  ) {
    this.timer = setTimeout(onDeadline, timeoutMs, this);
    this.timer.unref();
    if (source) {
      this.onSourceAbort = () => this.abort(source.reason);
      source.addEventListener('abort', this.onSourceAbort, { once: true });
    }
  }

  /** Stops the run (a no-op once stopped): handed to `onCancel` and to shutdown. */
  readonly abort = (reason: unknown, timedOut = false): void => {
    if (this.scope.aborted) return;
    // Our error first, then the agent's abort listeners: the run settles with it, as it always has.
    const err = this.errorOf(timedOut, reason);
    if (this.fail) this.fail(err);
    else this.failure = err;
    this.scope.abort(reason);
  };

  /** Settles with the agent's answer, or with our error when the run is stopped first. */
  settle(answer: Promise<AgentAnswer>): Promise<AgentAnswer> {
    return new Promise((resolve, reject) => {
      if (this.failure) reject(this.failure);
      else this.fail = reject;
      answer.then(resolve, reject);
    });
  }

  /** Clears the timer and stops listening to the caller's signal. */
  end(): void {
    clearTimeout(this.timer);
    if (this.onSourceAbort) this.source?.removeEventListener('abort', this.onSourceAbort);
  }
}

function onDeadline(run: AgentRun): void {
  run.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), true);
}
