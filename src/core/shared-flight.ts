import { abortReason, raceSignal } from './abort.js';

interface Flight {
  readonly promise: Promise<unknown>;
  readonly controller: AbortController;
  waiters: number;
  settled: boolean;
}

/**
 * Joins concurrent identical calls: the first caller of a key starts the work, later callers wait
 * for the same result. Each caller can leave through its own AbortSignal without hurting the others;
 * the work's own signal aborts only when every caller has left, so nobody pays for an upstream
 * call that nobody waits for.
 */
export class SharedFlight {
  private readonly flights = new Map<string, Flight>();

  /** Calls in flight right now. */
  get size(): number {
    return this.flights.size;
  }

  /** Runs (or joins) the work for `key`; rejects with the caller's abort reason if it leaves first. */
  async run<T>(key: string, work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortReason(signal);
    let flight = this.flights.get(key);
    if (!flight) {
      const controller = new AbortController();
      const started: Flight = {
        controller,
        waiters: 0,
        settled: false,
        promise: Promise.resolve()
          .then(() => work(controller.signal))
          .finally(() => {
            started.settled = true;
            if (this.flights.get(key) === started) this.flights.delete(key);
          }),
      };
      started.promise.catch(() => undefined);
      this.flights.set(key, started);
      flight = started;
    }
    const current = flight;
    current.waiters++;
    try {
      return (await raceSignal(current.promise, signal)) as T;
    } finally {
      current.waiters--;
      if (current.waiters === 0 && !current.settled) {
        if (this.flights.get(key) === current) this.flights.delete(key);
        current.controller.abort(signal ? abortReason(signal) : undefined);
      }
    }
  }
}
