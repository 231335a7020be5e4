// Work a component waits for when it stops: requests still settling, NATS handlers, running jobs, a
// settlement pass. Each tracks its promises here and drains them with a deadline. A deadline passed
// is not an error: what still runs keeps running (it settles later, or crash recovery bills it) and
// shutdown goes on. The refund's wait (refunds/refund.ts) is not this: it polls the store, so it
// sees other processes' reservations, and bills what is left at its deadline.
import { setTimeout as sleep } from "node:timers/promises";

export class InflightTracker {
  readonly #running = new Set<Promise<unknown>>();

  get size(): number {
    return this.#running.size;
  }

  /** Tracks `work` until it settles; returns it unchanged (its rejection is still the caller's). */
  track<T>(work: Promise<T>): Promise<T> {
    this.#running.add(work);
    work.then(
      () => this.#running.delete(work),
      () => this.#running.delete(work),
    );
    return work;
  }

  /** Resolves when any tracked work settles (at once when none is tracked); never rejects. */
  oneSettled(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return Promise.race(this.#running).then(
      () => {},
      () => {},
    );
  }

  /**
   * Waits for the work tracked now (and `alongside`) to settle, at most timeoutMs.
   * True when all of it settled in time.
   */
  drain(timeoutMs: number, ...alongside: Array<Promise<unknown> | undefined>): Promise<boolean> {
    return settledWithin([...this.#running, ...alongside], timeoutMs);
  }
}

/**
 * Waits for every promise to settle, at most timeoutMs; never rejects. True when all settled in
 * time. The deadline's timer is unref'd and cleared once the work is done, so it never holds the
 * process open.
 */
export async function settledWithin(
  work: Iterable<Promise<unknown> | undefined>,
  timeoutMs: number,
): Promise<boolean> {
  const done = new AbortController();
  const all = Promise.allSettled([...work]).then(() => true);
  const late = sleep(timeoutMs, false, { ref: false, signal: done.signal }).catch(() => false);
  try {
    return await Promise.race([all, late]);
  } finally {
    done.abort();
  }
}
