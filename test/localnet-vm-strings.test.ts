// localnet's host boundary converts exactly as near-sdk-js's builder.c does on chain: strings cross
// whole (NUL bytes, lone surrogates) in both directions and are turned into bytes with near's QuickJS
// rules; amounts and u64s follow builder.c's conversions, negative BigInt amounts included.
// Each case runs on the snapshot path, on the fresh-context path and on the contract's WASM.
import { readFileSync } from "node:fs";
import test from "ava";
import { fromCString, strncpy, toCString, toRawLatin1 } from "#internal/localnet/vm/quickjs-strings";
import { createContractRuntime, createContractRuntimeWithOptions } from "#localnet/vm";
import { contractWasm } from "./helpers/contracts.js";
import { DeployedContract, executionError, returnedJson as json } from "./helpers/vm-harness.js";

const dec = new TextDecoder();
const units = (s: string) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("quickjs-strings: JS_ToCStringLen keeps lone surrogates as 3-byte sequences", (t) => {
  t.is(hex(toCString("a\0b")), "610062");
  t.is(hex(toCString("é€😀")), "c3a9e282acf09f9880");
  t.is(hex(toCString("x\ud800y")), "78eda08079");
  t.is(hex(toCString("\udc00\ud83d")), "edb080eda0bd");
});

test("quickjs-strings: JS_NewStringLen decodes the way QuickJS 2021 does", (t) => {
  const d = (h: string) => units(fromCString(Buffer.from(h, "hex")));
  t.deepEqual(d("610062"), [0x61, 0, 0x62]);
  t.deepEqual(d("eda080"), [0xd800], "an encoded surrogate becomes a lone surrogate");
  t.deepEqual(d("eda0bdedb880"), [0xd83d, 0xde00], "CESU-8 pairs decode to the pair");
  // A stray continuation byte: U+FFFD, and QuickJS's skip loop also eats the next byte ("A").
  t.deepEqual(d("804142"), [0xfffd, 0x42]);
  t.deepEqual(d("c0af41"), [0xfffd, 0x41], "overlong: U+FFFD, its continuation skipped");
  t.deepEqual(d("f8888080804142"), [0xfffd, 0x41, 0x42], "5-byte form above U+10FFFF");
  t.deepEqual(d("e282"), [0xfffd], "truncated sequence");
});

test("quickjs-strings: raw latin1 and strncpy", (t) => {
  t.is(hex(toRawLatin1("\0é\xff")), "00e9ff");
  t.is(hex(toRawLatin1("a€")), "", "a 16-bit QuickJS string gives no bytes");
  t.is(hex(strncpy(Buffer.from("a\0bc"))), "61000000");
  t.is(hex(strncpy(Buffer.from("abc"))), "616263");
});

// The JS bundle on localnet's two QuickJS paths, and the WASM, where builder.c itself converts: the
// same expectations on all three pin localnet's conversions to what the chain's code does.
const jsRuntime = createContractRuntime();
for (const [path, deploy] of [
  ["snapshot", async () => DeployedContract.of(jsRuntime, "marshal")],
  [
    "fresh",
    async () => DeployedContract.of(createContractRuntimeWithOptions({ snapshots: false }), "marshal"),
  ],
  [
    "wasm",
    async () =>
      new DeployedContract(
        jsRuntime,
        readFileSync(await contractWasm("marshal")),
        "marshal.test.near",
        "marshal-wasm",
      ),
  ],
] as const) {
  const marshal = deploy;

  test(`${path}: strings with NUL bytes reach storage-key conversions whole, both ways`, async (t) => {
    const c = await marshal();
    t.is(json(c.view("utf8_encode", { s: units("p\0k\0\0") })), "70006b0000");
    t.deepEqual(json(c.view("utf8_decode", { bytes: "70006b0000" })), units("p\0k\0\0"));
    t.is(json(c.view("latin1_encode", { s: units("\0\x01\0\0") })), "00010000");
    t.deepEqual(json(c.view("latin1_decode", { bytes: "00010000" })), [0, 1, 0, 0]);
    t.is(json(c.view("latin1_encode", { s: units("\0€") })), "", "16-bit strings: nothing, as on chain");
  });

  test(`${path}: lone surrogates and invalid UTF-8 convert as near's QuickJS does`, async (t) => {
    const c = await marshal();
    t.is(json(c.view("utf8_encode", { s: [0x61, 0xd800, 0] })), "61eda08000");
    t.deepEqual(json(c.view("utf8_decode", { bytes: "eda08000" })), [0xd800, 0]);
    t.deepEqual(json(c.view("utf8_decode", { bytes: "80414200" })), [0xfffd, 0x42, 0]);
    t.deepEqual(json(c.view("latin1_decode", { bytes: "ff00e9" })), [0xff, 0, 0xe9]);
  });

  test(`${path}: logs and panics keep what follows a NUL; builder.c's strncpy zeroes a thrown message's tail`, async (t) => {
    const c = await marshal();
    t.deepEqual(c.view("log_units", { s: units("EVENT\0tail") }).logs, ["EVENT\0tail"]);
    t.is(
      executionError(c.view("panic_units", { s: units("bad\0news") })),
      "Smart contract panicked: bad\0news",
    );
    const thrown = executionError(c.view("throw_units", { s: units("ab\0cd") }));
    t.true(thrown.startsWith("Smart contract panicked: ab\0\0\0\n"), JSON.stringify(thrown.slice(0, 40)));
    t.regex(thrown, /throw_units/, "the stack follows the message");
    // A lone surrogate is not UTF-8: nearcore refuses the log.
    t.regex(c.view("log_units", { s: [0x61, 0xdc00] }).error?.message ?? "", /BadUTF8/);
  });

  test(`${path}: account ids and method names are not cut at a NUL`, async (t) => {
    const c = await marshal();
    // Cut at the NUL this would be a valid receiver: the promise would go to alice.test.near.
    const out = c.run("call_units", { receiver: units("alice.test.near\0evil"), method: units("m") });
    t.regex(out.error?.message ?? "", /InvalidAccountId/);
    const method = c.run("call_units", { receiver: units("bob.test.near"), method: units("ft_transfer\0x") });
    t.falsy(method.error);
    const action = method.receipts[0]?.actions[0] as { methodName?: string } | undefined;
    t.is(action?.methodName, "ft_transfer\0x");
    // Not UTF-8 (a lone surrogate): nearcore's errors for a method name and for an account id.
    const badMethod = c.run("call_units", { receiver: units("bob.test.near"), method: [0x6d, 0xd800] });
    t.is(badMethod.error?.message, "HostError(InvalidMethodName)");
    const badAccount = c.run("call_units", { receiver: [0x62, 0x6f, 0x62, 0xdc00], method: units("m") });
    t.is(badAccount.error?.message, "HostError(BadUTF8)");
  });

  test(`${path}: amounts convert like builder.c's quickjs_to_u128 (a negative BigInt is 0)`, async (t) => {
    const c = await marshal();
    const transfer = (amount: string) => c.run("transfer", { receiver: "bob.test.near", amount });
    for (const amount of ["-1", "-5000", `-${2n ** 128n}`, `-${2n ** 200n}`]) {
      const out = transfer(amount);
      t.is(json(out), "ok", amount);
      t.deepEqual(out.receipts[0]?.actions, [{ type: "Transfer", deposit: 0n }], amount);
    }
    const max = transfer(`${2n ** 128n - 1n}`);
    t.regex(max.error?.message ?? "", /BalanceExceeded/, "2^128-1 is a valid u128 (more than the balance)");
    t.is(json(transfer(`${2n ** 128n}`)), "throws TypeError: Expect Uint128 for amount");
    t.deepEqual(transfer("7").receipts[0]?.actions, [{ type: "Transfer", deposit: 7n }]);
  });

  test(`${path}: u64 arguments convert like JS_ToUint64Ext`, async (t) => {
    const c = await marshal();
    const len = (id: string) => json(c.view("read_register_len", { id }));
    const u64max = `${2n ** 64n - 1n}`;
    t.is(len("n:5"), u64max, "an empty register has length u64::MAX");
    t.is(len("b:-1"), "throws TypeError: Expect Uint64 for register_id", "a negative BigInt is refused");
    t.is(len(`b:${2n ** 64n}`), "throws TypeError: Expect Uint64 for register_id", "so is one ≥ 2^64");
    t.is(len(`b:${2n ** 64n - 1n}`), u64max);
    // Numbers, seen through a transfer's amount (a number is a u64 there too).
    const deposit = (amount: string) => {
      const action = c.run("transfer", { receiver: "bob.test.near", amount }).receipts[0]?.actions[0];
      return (action as { deposit?: bigint } | undefined)?.deposit;
    };
    t.is(deposit("n:-1"), 2n ** 64n - 1n, "a number wraps modulo 2^64");
    t.is(deposit(`n:${2 ** 64}`), 0n, "2^64 wraps to 0");
    t.is(deposit(`n:${2 ** 64 + 2 ** 12}`), 4096n);
    t.is(deposit("n:12.9"), 12n, "truncated");
    t.is(deposit("n:Infinity"), 0n);
    t.is(deposit("n:NaN"), 0n);
  });

  test(`${path}: function_call_weight's arguments are a raw string, as builder.c reads them`, async (t) => {
    const c = await marshal();
    const out = c.run("call_weight", { args: "7b7d" });
    t.falsy(out.error, out.error?.message);
    const action = out.receipts[0]?.actions[0] as { args?: Uint8Array } | undefined;
    // The Uint8Array [0x7b, 0x7d] reaches the host as its toString(): "123,125".
    t.is(dec.decode(action?.args), "123,125");
  });
}
