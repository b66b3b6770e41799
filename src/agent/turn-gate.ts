/**
 * Fairness under bursts: lets at most `perTurn` callers through per event-loop turn.
 *
 * Preparing a model call (LangChain and the OpenAI SDK building the request) costs a few hundred
 * microseconds of CPU. When hundreds of runs become ready in the same tick (a burst of messages,
 * or one Redis reply batch resolving hundreds of reads), they would all prepare their calls in one
 * macrotask and stall the event loop for that long: timers, health checks and platform acks would
 * wait. Callers await {@link TurnGate.pass} before such work; a batch is released from a
 * `setImmediate`, and the next batch from the next one, so timers and I/O run between batches.
 * With no queue, a caller waits a single `setImmediate`.
 */
export class TurnGate {
  private readonly queue: (() => void)[] = [];
  private scheduled = false;
  /** Callers {@link tryPass} let through in this turn. */
  private passedNow = 0;
  private resetScheduled = false;

  constructor(private readonly perTurn = 8) {
    if (!Number.isInteger(perTurn) || perTurn < 1)
      throw new RangeError('perTurn must be a whole number >= 1');
  }

  /** Callers waiting for a later turn. */
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Lets the caller through at once when nobody waits and fewer than `perTurn` callers went
   * through this way in this turn; false otherwise (the caller then does without, or waits with
   * {@link pass}). For work that is cheap alone but adds up in a burst.
   */
  tryPass(): boolean {
    if (this.queue.length > 0 || this.passedNow >= this.perTurn) return false;
    this.passedNow++;
    if (!this.resetScheduled) {
      this.resetScheduled = true;
      setImmediate(this.resetTurn);
    }
    return true;
  }

  private readonly resetTurn = (): void => {
    this.passedNow = 0;
    this.resetScheduled = false;
  };

  /** Resolves in this or a later turn of the event loop, at most `perTurn` callers per turn. */
  pass(): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push(resolve);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.release);
      }
    });
  }

  private readonly release = (): void => {
    const batch = this.queue.splice(0, this.perTurn);
    for (const resolve of batch) resolve();
    // An immediate queued from inside an immediate runs on the next loop iteration: timers first.
    if (this.queue.length > 0) setImmediate(this.release);
    else this.scheduled = false;
  };
}
