import { readFileSync } from "node:fs";
import test from "ava";
import {
  type ContractRuntime,
  createContractRuntimeWithOptions,
  type VMContext,
  type VMOutcome,
} from "#localnet/vm";
import { builtContract } from "./helpers/contracts.js";
import { DeployedContract, TGAS } from "./helpers/vm-harness.js";

const fast = createContractRuntimeWithOptions({ snapshots: true });
const slow = createContractRuntimeWithOptions({ snapshots: false });
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A contract with committed state, run through one runtime (the same account on both paths). */
class Chain extends DeployedContract {
  constructor(runtime: ContractRuntime, code: Uint8Array, codeHash: string) {
    super(runtime, code, "c.test.near", codeHash);
  }
}

/** The same contract on the fast and the slow path; `run` checks both give the same outcome. */
class Twin {
  readonly fast: Chain;
  readonly slow: Chain;
  constructor(code: Uint8Array, codeHash: string) {
    this.fast = new Chain(fast, code, codeHash);
    this.slow = new Chain(slow, code, codeHash);
  }

  static async of(name: string): Promise<Twin> {
    return new Twin(readFileSync(await builtContract(name)), `${name}-snapshot-test`);
  }

  static js(source: string, codeHash: string): Twin {
    return new Twin(enc.encode(source), codeHash);
  }

  run(
    t: { deepEqual: (a: unknown, b: unknown, m?: string) => void },
    method: string,
    args: unknown = {},
    opts: Partial<VMContext> = {},
  ): VMOutcome {
    const a = this.fast.run(method, args, opts);
    const b = this.slow.run(method, args, opts);
    t.deepEqual(a, b, `${method}: snapshot and fresh-context outcomes differ`);
    return a;
  }
}

const value = (out: VMOutcome): unknown => {
  if (out.error) throw new Error(`call failed: ${out.error.message}`);
  if (out.returnData.kind !== "Value") throw new Error("no value returned");
  return JSON.parse(dec.decode(out.returnData.data));
};
const executionError = (out: VMOutcome) =>
  (out.error?.functionCallError as { ExecutionError?: string } | undefined)?.ExecutionError ?? "";

test("300 alternating calls, panics and views match the fresh-context path", async (t) => {
  const c = await Twin.of("status");
  c.run(t, "init", { owner: "o.test.near" });
  for (let i = 0; i < 100; i++) {
    const set = c.run(t, "set_status", { message: `m${i}` });
    t.falsy(set.error);
    const fail = c.run(t, "fail", { message: `boom${i}` });
    t.regex(executionError(fail), new RegExp(`^Smart contract panicked: boom${i}\\n`));
    t.deepEqual(fail.stateChanges, []);
    const view = c.run(t, "get_status", { account_id: "alice.test.near" }, { isView: true });
    t.is(value(view), `m${i}`);
  }
  const logs = c.run(t, "log_something", { lines: ["a", "b"] });
  t.deepEqual(logs.logs, ["a", "b"]);
  t.deepEqual(c.fast.state, c.slow.state);
});

test("a global set in one call is gone in the next", async (t) => {
  const c = await Twin.of("status");
  c.run(t, "init", { owner: "o.test.near" });
  for (let i = 0; i < 5; i++) t.is(value(c.run(t, "touch_global")), "fresh");
});

test("Date.now and Math.random follow each call's block", async (t) => {
  const c = await Twin.of("status");
  c.run(t, "init", { owner: "o.test.near" });
  const seen = new Set<number>();
  for (let i = 0; i < 5; i++) {
    const ctx = value(c.run(t, "context")) as Record<string, string | number>;
    t.is(ctx.date_now, Number(BigInt(ctx.block_timestamp as string) / 1_000_000n));
    seen.add(ctx.random as number);
  }
  t.is(seen.size, 5);
  // Same block, same values.
  const ts = 1_700_000_000_000_000_000n;
  const at = (chain: Chain) =>
    value(
      chain.run("view_context", {}, { isView: true, blockTimestamp: ts, randomSeed: new Uint8Array(32) }),
    );
  t.deepEqual(at(c.fast), at(c.fast));
  t.deepEqual(at(c.fast), at(c.slow));
  t.is((at(c.fast) as { date_now: number }).date_now, Number(ts / 1_000_000n));
});

test("gas exhaustion and interrupt ticks are the same on both paths", async (t) => {
  const c = await Twin.of("status");
  c.run(t, "init", { owner: "o.test.near" });
  c.run(t, "burn", { iterations: 200_000 });
  const out = c.run(t, "burn", { iterations: 1e9 }, { prepaidGas: 20n * TGAS });
  t.is(executionError(out), "Exceeded the prepaid gas.");
  // The call after an interrupted one starts from a clean interpreter.
  let x = 0;
  for (let i = 0; i < 10; i++) x = (x * 31 + i) % 1000003;
  t.is(value(c.run(t, "burn", { iterations: 10 })), x);
});

test("contract code that deletes or replaces env and builtins does not affect the next call", (t) => {
  const c = Twin.js(
    `export function wreck() {
       env.log("before");
       delete env.log;
       env.value_return = null;
       globalThis.JSON = undefined;
       Object.prototype.polluted = 1;
       Array.prototype.push = () => { throw new Error("nope"); };
     }
     export function check() {
       env.log("after " + typeof ({}).polluted);
       const a = []; a.push(1);
       env.value_return(env.utf8_string_to_uint8array(JSON.stringify({ ok: a.length })));
     }`,
    "wreck-snapshot-test",
  );
  for (let i = 0; i < 50; i++) {
    const wrecked = c.run(t, "wreck");
    t.deepEqual(wrecked.logs, ["before"]);
    t.falsy(wrecked.error);
    const checked = c.run(t, "check");
    t.deepEqual(checked.logs, ["after undefined"]);
    t.deepEqual(value(checked), { ok: 1 });
  }
});

test("modules whose top level needs the host take the fresh path and still see each call", (t) => {
  // Date.now / env at module level: a snapshot would freeze them, so these must not be snapshotted.
  const c = Twin.js(
    `env.log("loaded");
     const loadedAt = Date.now();
     const r = Math.random();
     export function when() {
       env.value_return(env.utf8_string_to_uint8array(JSON.stringify({ loadedAt, r })));
     }`,
    "toplevel-host-snapshot-test",
  );
  const first = c.run(t, "when");
  const second = c.run(t, "when");
  t.deepEqual(first.logs, ["loaded"]);
  t.notDeepEqual(value(first), value(second));
  // A module that leaves promise jobs pending also runs them in every call.
  const p = Twin.js(
    `let n = 0;
     Promise.resolve().then(() => { n++; env.log("job " + n); });
     export function m() { env.log("method " + n); }`,
    "pending-snapshot-test",
  );
  for (let i = 0; i < 3; i++) t.deepEqual(p.run(t, "m").logs, ["method 0", "job 1"]);
  // A module that throws while loading fails every call the same way.
  const bad = Twin.js(`throw new Error("bad module"); export function m() {}`, "throwing-snapshot-test");
  t.regex(executionError(bad.run(t, "m")), /bad module/);
  t.regex(executionError(bad.run(t, "m")), /bad module/);
});

test("a call that grows QuickJS memory a lot leaves later calls intact", (t) => {
  const c = Twin.js(
    `export function big() {
       const parts = [];
       for (let i = 0; i < 400; i++) parts.push(new Uint8Array(100000).fill(i & 255));
       env.value_return(env.utf8_string_to_uint8array(String(parts.length)));
     }
     export function small() { env.value_return(env.utf8_string_to_uint8array('"ok"')); }`,
    "grow-snapshot-test",
  );
  for (let i = 0; i < 3; i++) {
    t.is(value(c.run(t, "big")), 400);
    t.is(value(c.run(t, "small")), "ok");
  }
});

test("more contracts than the cache holds keep working (LRU eviction)", async (t) => {
  const code = readFileSync(await builtContract("status"));
  const twins = Array.from({ length: 20 }, (_, i) => new Twin(code, `lru-${i}`));
  for (let round = 0; round < 3; round++) {
    for (const [i, c] of twins.entries()) {
      if (round === 0) c.run(t, "init", { owner: `o${i}.test.near` });
      c.run(t, "set_status", { message: `r${round}-${i}` });
    }
  }
  for (const [i, c] of twins.entries()) {
    t.is(value(c.run(t, "get_status", { account_id: "alice.test.near" }, { isView: true })), `r2-${i}`);
  }
});

test("the fast path is really taken: one module evaluation for many calls, one per call without it", async (t) => {
  // Counted, not timed (load makes timings flaky); bench/vm.bench.ts measures the speed-up.
  const code = readFileSync(await builtContract("status"));
  const count = (runtime: typeof fast) => {
    const c = new Chain(runtime, code, "count-snapshot-test");
    const before = { ...runtime.stats };
    c.run("init", { owner: "o.test.near" });
    for (let i = 0; i < 50; i++) c.run("set_status", { message: `m${i}` });
    const { stats } = runtime;
    return {
      snapshotCalls: stats.snapshotCalls - before.snapshotCalls,
      freshCalls: stats.freshCalls - before.freshCalls,
      modulesEvaluated: stats.modulesEvaluated - before.modulesEvaluated,
    };
  };
  t.deepEqual(count(fast), { snapshotCalls: 51, freshCalls: 0, modulesEvaluated: 1 });
  t.deepEqual(count(slow), { snapshotCalls: 0, freshCalls: 51, modulesEvaluated: 51 });
});

test("host memory stays bounded over 1000 calls", async (t) => {
  const c = new Chain(fast, readFileSync(await builtContract("status")), "rss-snapshot-test");
  c.run("init", { owner: "o.test.near" });
  for (let i = 0; i < 100; i++) c.run("set_status", { message: `warm${i}` });
  global.gc?.();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 1000; i++) {
    const out = i % 2 ? c.run("fail", { message: "x" }) : c.run("set_status", { message: `m${i}` });
    if (i % 2 === 0) t.falsy(out.error);
  }
  global.gc?.();
  const grownMb = (process.memoryUsage().rss - before) / 2 ** 20;
  t.log(`rss growth over 1000 calls: ${grownMb.toFixed(1)} MB`);
  t.true(grownMb < 48, `rss grew ${grownMb.toFixed(1)} MB`);
});
