// Drives localnet's contract runtime directly (no chain): near-sdk-js contracts from test/contracts/.
import { createHash } from "node:crypto";
import test from "ava";
import { getBytes, SigningKey, Wallet } from "ethers";
import { createContractRuntime, type PromiseResult } from "#localnet/vm";
import { DeployedContract, executionError, returnedJson as json, NEAR, TGAS } from "./helpers/vm-harness.js";

const runtime = createContractRuntime();
const enc = new TextEncoder();
const dec = new TextDecoder();

const Deployed = {
  of: (name: string, accountId?: string) => DeployedContract.of(runtime, name, accountId),
};

test("init, call and view round-trip through storage", async (t) => {
  const c = await Deployed.of("status");
  t.falsy(c.run("init", { owner: "bob.test.near" }).error);
  t.deepEqual(json(c.view("get_owner")), "bob.test.near");
  const set = c.run("set_status", { message: "hello" });
  t.falsy(set.error);
  t.true(set.stateChanges.length > 0);
  t.deepEqual(json(c.view("get_status", { account_id: "alice.test.near" })), "hello");
  t.is(json(c.view("get_status", { account_id: "nobody.test.near" })), null);
  t.true(set.gasBurnt >= TGAS && set.gasBurnt <= 20n * TGAS, `gas ${set.gasBurnt}`);
});

test("state changes are ordered and storage usage follows nearcore's record accounting", async (t) => {
  const c = await Deployed.of("status");
  c.run("init", { owner: "o.test.near" });
  const before = c.storageUsage;
  const out = c.run("set_status", { message: "x" });
  const added = out.stateChanges.filter((s) => s.value !== null);
  t.true(added.length >= 2);
  // Each first write of a key costs 40 + key + value bytes; overwrites only the value delta.
  let expected = before;
  const seen = new Set<string>();
  for (const change of out.stateChanges) {
    const k = Buffer.from(change.key).toString("hex");
    const old = seen.has(k) ? undefined : c.state.get(k);
    t.truthy(change.value);
    seen.add(k);
    if (
      old === undefined &&
      !out.stateChanges
        .slice(0, out.stateChanges.indexOf(change))
        .some((s) => Buffer.from(s.key).toString("hex") === k)
    ) {
      expected += 40n + BigInt(change.key.length + (change.value as Uint8Array).length);
    }
  }
  t.true(out.storageUsage > before);
  t.is(typeof out.storageUsage, "bigint");
  t.true(out.storageUsage <= expected + 1000n);
});

test("logs are collected in order", async (t) => {
  const c = await Deployed.of("status");
  c.run("init", { owner: "o.test.near" });
  const out = c.run("log_something", { lines: ["one", "two", "üñí"] });
  t.deepEqual(out.logs, ["one", "two", "üñí"]);
  t.is(json(out), 3);
});

test("an uncaught exception is a panic with message and stack", async (t) => {
  const c = await Deployed.of("status");
  c.run("init", { owner: "o.test.near" });
  const out = c.run("fail", { message: "boom" });
  t.regex(executionError(out), /^Smart contract panicked: boom\n\s+at /);
  t.regex(
    out.error?.message ?? "",
    /^HostError\(GuestPanic \{ panic_msg: "Smart contract panicked|^HostError\(GuestPanic \{ panic_msg: "boom/,
  );
  t.deepEqual(out.stateChanges, []);
  t.deepEqual(out.returnData, { kind: "None" });
});

test("env.panic_utf8 fails the call with its message", async (t) => {
  const c = await Deployed.of("status");
  c.run("init", { owner: "o.test.near" });
  const out = c.view("fail_view");
  t.is(executionError(out), "Smart contract panicked: explicit panic");
});

test("missing method and missing code use nearcore's errors", async (t) => {
  const c = await Deployed.of("status");
  t.deepEqual(c.run("no_such_method").error?.functionCallError, { MethodResolveError: "MethodNotFound" });
  const empty = new DeployedContract(runtime, new Uint8Array(0), "empty.test.near");
  t.deepEqual(empty.run("x").error?.functionCallError, {
    CompilationError: { CodeDoesNotExist: { account_id: "empty.test.near" } },
  });
  const wasm = new DeployedContract(
    runtime,
    new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]),
    "wasm.test.near",
  );
  // An empty module is valid WASM (run by the WASM engine, test/localnet-wasm.test.ts): it has no methods.
  t.deepEqual(wasm.run("x").error?.functionCallError, { MethodResolveError: "MethodNotFound" });
});

test("state-changing and context functions are ProhibitedInView", async (t) => {
  const c = await Deployed.of("status");
  c.run("init", { owner: "o.test.near" });
  const out = c.view("set_status", { message: "nope" });
  // near-sdk-js's @call wrapper checks the deposit first.
  t.is(out.error?.message, 'HostError(ProhibitedInView { method_name: "attached_deposit" })');
  t.is(executionError(out), "attached_deposit is not allowed in view calls");
  t.deepEqual(out.stateChanges, []);
  const ctx = c.view("context");
  t.regex(ctx.error?.message ?? "", /ProhibitedInView/);
  // Reading is fine in a view.
  t.falsy(c.view("view_context").error);
});

test("host errors and panics cannot be caught by contract code", async (t) => {
  const c = await Deployed.of("trycatch");
  const panic = c.run("swallow_panic");
  t.is(executionError(panic), "Smart contract panicked: swallowed panic");
  t.deepEqual(panic.stateChanges, []);
  const host = c.run("swallow_host_error");
  t.is(executionError(host), "Accessed invalid promise result index: 99");
  t.deepEqual(host.stateChanges, []);
  // An ordinary exception stays catchable.
  t.is(json(c.run("plain_catch")), "caught ordinary");
  t.is(json(c.view("get_marker")), "caught ordinary");
});

test("cross-contract call creates a function call receipt and a dependent callback", async (t) => {
  const c = await Deployed.of("cross");
  const out = c.run(
    "call_other",
    { target: "status.test.near", method: "set_status", args: { message: "hi" } },
    { attachedDeposit: NEAR },
  );
  t.falsy(out.error);
  t.is(out.receipts.length, 2);
  const [call, callback] = out.receipts;
  t.is(call?.receiverId, "status.test.near");
  t.deepEqual(call?.dependsOn, []);
  const action = call?.actions[0];
  t.is(action?.type, "FunctionCall");
  if (action?.type === "FunctionCall") {
    t.is(action.methodName, "set_status");
    t.deepEqual(JSON.parse(dec.decode(action.args)), { message: "hi" });
    t.is(action.deposit, NEAR);
    t.is(action.gas, 30n * TGAS);
  }
  t.is(callback?.receiverId, "cross.test.near");
  t.deepEqual(callback?.dependsOn, [0]);
  t.deepEqual(out.returnData, { kind: "ReceiptIndex", index: 1 });
  // The attached deposit left with the receipt; prepaid gas of both calls counts as used.
  t.is(out.balance, 10n * NEAR);
  t.true(out.gasUsed >= out.gasBurnt + 60n * TGAS);
});

test("promise_and joins feed one callback; transfers deduct balance", async (t) => {
  const c = await Deployed.of("cross");
  const both = c.run("call_both", { target: "status.test.near" }, { prepaidGas: 200n * TGAS });
  t.falsy(both.error);
  t.is(both.receipts.length, 3);
  t.deepEqual(both.receipts[2]?.dependsOn, [0, 1]);
  const send = c.run("send_near", { receiver: "bob.test.near", amount: String(NEAR) });
  t.falsy(send.error);
  t.deepEqual(send.receipts[0]?.actions, [{ type: "Transfer", deposit: NEAR }]);
  t.is(send.balance, 9n * NEAR);
  const tooMuch = c.run("send_near", { receiver: "bob.test.near", amount: String(100n * NEAR) });
  t.is(executionError(tooMuch), "Exceeded the account balance.");
});

test("promise results reach the callback: success and failure", async (t) => {
  const c = await Deployed.of("cross");
  const callback = (results: PromiseResult[], method = "get_owner") =>
    c.run("on_done", { method }, { predecessorAccountId: "cross.test.near", promiseResults: results });
  t.is(json(callback([{ status: "Successful", data: enc.encode('"bob"') }])), 'success:get_owner:"bob"');
  t.is(json(callback([{ status: "Failed" }], "fail")), "failure:fail");
  t.is(json(c.view("get_last_result")), "failure:fail");
  const joined = c.run(
    "on_both",
    {},
    {
      predecessorAccountId: "cross.test.near",
      promiseResults: [{ status: "Successful", data: enc.encode('"x"') }, { status: "Failed" }],
    },
  );
  t.is(json(joined), 'ok:"x",failed');
  // Private: another predecessor is rejected.
  t.regex(executionError(callback([{ status: "Failed" }])), /^$|panicked/);
});

test("private callbacks reject other callers", async (t) => {
  const c = await Deployed.of("cross");
  const out = c.run(
    "on_done",
    { method: "x" },
    { predecessorAccountId: "mallory.test.near", promiseResults: [{ status: "Failed" }] },
  );
  t.regex(executionError(out), /Smart contract panicked: Function is private/);
});

test("ecrecover recovers an ethers signature and rejects high-s when asked", async (t) => {
  const c = await Deployed.of("status");
  c.run("init", { owner: "o.test.near" });
  const wallet = Wallet.createRandom();
  const hash = createHash("sha256").update("message").digest();
  const sig = wallet.signingKey.sign(hash);
  const expected = SigningKey.computePublicKey(wallet.signingKey.publicKey, false).slice(4);
  const hex = (b: Uint8Array | string) =>
    typeof b === "string" ? b.replace(/^0x/, "") : Buffer.from(b).toString("hex");
  const rs = hex(sig.r) + hex(sig.s);
  const v = sig.yParity;
  t.is(json(c.view("recover", { hash: hex(hash), sig: rs, v, flag: 1 })), expected);
  // Same signature with s' = n - s and flipped parity: valid without the flag, rejected with it.
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const highS = (n - BigInt(sig.s)).toString(16).padStart(64, "0");
  const highSig = hex(sig.r) + highS;
  t.is(json(c.view("recover", { hash: hex(hash), sig: highSig, v: 1 - v, flag: 0 })), expected);
  t.is(json(c.view("recover", { hash: hex(hash), sig: highSig, v: 1 - v, flag: 1 })), null);
  t.not(json(c.view("recover", { hash: hex(hash), sig: rs, v: 1 - v, flag: 1 })), expected);
  t.truthy(getBytes(sig.r));
});

test("Date.now and Math.random come from the block, deterministically", async (t) => {
  const a = await Deployed.of("status");
  const b = await Deployed.of("status");
  a.run("init", { owner: "o.test.near" });
  b.run("init", { owner: "o.test.near" });
  const ra = json(a.run("context", {}, { attachedDeposit: 5n })) as Record<string, string | number>;
  const rb = json(b.run("context", {}, { attachedDeposit: 5n })) as Record<string, string | number>;
  t.is(ra.date_now, Number(BigInt(ra.block_timestamp as string) / 1_000_000n));
  t.is(ra.random, rb.random);
  t.not(ra.random, ra.random2);
  t.true((ra.random as number) >= 0 && (ra.random as number) < 1);
  t.is(ra.deposit, "5");
  t.is(ra.predecessor, "alice.test.near");
  t.is(ra.current, "status.test.near");
  t.is(ra.prepaid_gas, String(100n * TGAS));
  t.true(BigInt(ra.used_gas as string) > 0n);
  const next = json(a.run("context")) as Record<string, number>;
  t.not(next.random, ra.random);
});

test("globals never survive between calls", async (t) => {
  const c = await Deployed.of("status");
  c.run("init", { owner: "o.test.near" });
  t.is(json(c.run("touch_global")), "fresh");
  t.is(json(c.run("touch_global")), "fresh");
});

test("GasExceeded when the prepaid gas runs out, burning all of it", async (t) => {
  const c = await Deployed.of("status");
  c.run("init", { owner: "o.test.near" });
  t.is(
    json(c.run("burn", { iterations: 1000 })),
    (() => {
      let x = 0;
      for (let i = 0; i < 1000; i++) x = (x * 31 + i) % 1000003;
      return x;
    })(),
  );
  const out = c.run("burn", { iterations: 1e9 }, { prepaidGas: 30n * TGAS });
  t.is(executionError(out), "Exceeded the prepaid gas.");
  t.is(out.gasBurnt, 30n * TGAS);
  const tiny = c.run("get_owner", {}, { prepaidGas: TGAS / 2n });
  t.is(executionError(tiny), "Exceeded the prepaid gas.");
});

test("calls on a ~100 KB contract do not evaluate its module again: they come from its snapshot", async (t) => {
  // What made calls take milliseconds instead of a module load each; the speed is in bench/vm.bench.ts.
  const c = await Deployed.of("status");
  c.run("init", { owner: "o.test.near" });
  t.true(c.code.length > 50_000, `${c.code.length} bytes`);
  const before = { ...runtime.stats };
  // Synchronous: no other test's call lands between the two readings.
  for (let i = 0; i < 100; i++) t.falsy(c.run("set_status", { message: `m${i}` }).error);
  const after = runtime.stats;
  t.is(after.snapshotCalls - before.snapshotCalls, 100);
  t.is(after.freshCalls - before.freshCalls, 0);
  t.is(after.modulesEvaluated - before.modulesEvaluated, 0, "the module was evaluated once, before");
});
