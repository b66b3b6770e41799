import { abortReason, raceSignal } from './abort.js';
import { AbortScope, type StopSource } from './abort-scope.js';

interface Flight {
  readonly promise: Promise<unknown>;
  readonly scope: AbortScope;
  waiters: number;
  settled: boolean;
}

/**
 * Joins concurrent identical calls: the first caller of a key starts the work, later callers wait
 * for the same result. Each caller can leave through its own signal without hurting the others;
 * the work's own {@link AbortScope} aborts only when every caller has left, so nobody pays for an
 * upstream call that nobody waits for.
 */
export class SharedFlight {
  private readonly flights = new Map<string, Flight>();

  /** Calls in flight right now. */
  get size(): number {
    return this.flights.size;
  }

  /** Runs (or joins) the work for `key`; rejects with the caller's abort reason if it leaves first. */
  async run<T>(key: string, work: (scope: AbortScope) => Promise<T>, signal?: StopSource): Promise<T> {
    if (signal?.aborted) throw abortReason(signal);
    let flight = this.flights.get(key);
    if (!flight) {
      const scope = new AbortScope();
      const started: Flight = {
        scope,
        waiters: 0,
        settled: false,
        promise: Promise.resolve()
          .then(() => work(scope))
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
        current.scope.abort(signal ? abortReason(signal) : undefined);
      }
    }
  }
}
