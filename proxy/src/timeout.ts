// A deadline on a call that takes no AbortSignal (near-api-js's JsonRpcProvider methods): the call
// is not cancelled, its answer is no longer waited for. Where a call takes a signal, pass it
// AbortSignal.timeout instead.
import { setTimeout as sleep } from "node:timers/promises";

/** `work`, or a rejection with `message` once ms pass first; the timer is cleared when work ends. */
export async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  const done = new AbortController();
  const late = sleep(ms, undefined, { signal: done.signal }).then(() => {
    throw new Error(message);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    done.abort();
  }
}
