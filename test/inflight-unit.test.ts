// The in-flight tracker every stopping component drains (proxy/src/inflight.ts): what it waits for,
// that a deadline ends the wait without an error, and that a failed piece of work does not fail it.
// And the deadline on a call that takes no signal (proxy/src/timeout.ts).
import { setImmediate as tick } from "node:timers/promises";
import test from "ava";
import { InflightTracker, settledWithin } from "#internal/proxy/inflight";
import { withTimeout } from "#internal/proxy/timeout";

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test("tracked work is counted until it settles, resolved or rejected, and track hands it back", async (t) => {
  const tracker = new InflightTracker();
  const ok = deferred<number>();
  const bad = deferred();
  t.is(tracker.track(ok.promise), ok.promise);
  const failing = tracker.track(bad.promise);
  t.is(tracker.size, 2);
  ok.resolve(7);
  await tick();
  t.is(tracker.size, 1);
  bad.reject(new Error("boom"));
  await t.throwsAsync(failing, { message: "boom" });
  await tick();
  t.is(tracker.size, 0);
});

test("drain waits for every tracked piece of work and whatever runs alongside", async (t) => {
  const tracker = new InflightTracker();
  const a = deferred();
  const b = deferred();
  const alongside = deferred();
  tracker.track(a.promise);
  tracker.track(b.promise).catch(() => {});
  let drained: boolean | undefined;
  const draining = tracker.drain(10_000, alongside.promise, undefined).then((v) => {
    drained = v;
  });
  a.resolve();
  b.reject(new Error("a failed request still counts as settled"));
  await tick();
  t.is(drained, undefined, "still waiting for the alongside work");
  alongside.resolve();
  await draining;
  t.true(drained);
});

test("drain stops waiting at the deadline and says so; the work keeps its tracking", async (t) => {
  const tracker = new InflightTracker();
  const stuck = deferred();
  tracker.track(stuck.promise);
  // The deadline's timer is unref'd (it must not keep a stopping process alive): hold the loop here.
  const alive = setInterval(() => {}, 1_000);
  t.teardown(() => clearInterval(alive));
  const started = performance.now();
  t.false(await tracker.drain(30));
  t.true(performance.now() - started >= 25);
  t.is(tracker.size, 1);
  stuck.resolve();
  t.true(await tracker.drain(1_000));
});

test("oneSettled resolves when any tracked work ends (at once when none is), never rejects", async (t) => {
  const tracker = new InflightTracker();
  await tracker.oneSettled();
  const a = deferred();
  const b = deferred();
  tracker.track(a.promise).catch(() => {});
  tracker.track(b.promise);
  let woke = false;
  const waiting = tracker.oneSettled().then(() => {
    woke = true;
  });
  await tick();
  t.false(woke);
  a.reject(new Error("x"));
  await waiting;
  t.true(woke);
  b.resolve();
});

test("settledWithin with nothing to wait for is true at once", async (t) => {
  t.true(await settledWithin([], 60_000));
  t.true(await settledWithin([undefined, Promise.resolve(1)], 60_000));
});

test("withTimeout: the work's answer or error when it comes first, the named timeout otherwise", async (t) => {
  t.is(await withTimeout(Promise.resolve(5), 60_000, "late"), 5);
  await t.throwsAsync(withTimeout(Promise.reject(new Error("refused")), 60_000, "late"), {
    message: "refused",
  });
  const never = deferred();
  const started = performance.now();
  await t.throwsAsync(withTimeout(never.promise, 30, "RPC timed out after 30 ms"), {
    message: "RPC timed out after 30 ms",
  });
  t.true(performance.now() - started >= 25);
});
