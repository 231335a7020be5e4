// localnet's WASM engine driven directly (no chain) with small hand-written contracts: NEAR's host
// ABI over linear memory, gas per instruction with nearcore's costs, traps, and nearcore's errors.
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { ripemd160 } from "@noble/hashes/legacy.js";
import { keccak_256, keccak_512 } from "@noble/hashes/sha3.js";
import test from "ava";
import { createContractRuntime, type VMOutcome } from "#localnet/vm";
import { DeployedContract, NEAR, TGAS } from "./helpers/vm-harness.js";
import { imports, wat, watContract } from "./helpers/wat.js";

const runtime = createContractRuntime();
const dec = new TextDecoder();
const REGULAR_OP = 822_756n;
const loading = (code: Uint8Array) => 35_445_963n + 216_750n * BigInt(code.length);

const value = (out: VMOutcome): Uint8Array => {
  if (out.error) throw new Error(`call failed: ${out.error.message}`);
  if (out.returnData.kind !== "Value") throw new Error(`no value: ${JSON.stringify(out.returnData)}`);
  return out.returnData.data;
};
const text = (out: VMOutcome) => dec.decode(value(out));
const u128 = (out: VMOutcome) => {
  const b = Buffer.from(value(out));
  return b.readBigUInt64LE(0) | (b.readBigUInt64LE(8) << 64n);
};
const u64 = (out: VMOutcome) => Buffer.from(value(out)).readBigUInt64LE(0);
const error = (out: VMOutcome) => out.error?.functionCallError;
const executionError = (out: VMOutcome) =>
  (error(out) as { ExecutionError?: string } | undefined)?.ExecutionError;

// One contract exercising most of the ABI. Memory: 0 "hello", 16 key "k", 32 value "v1",
// 48 "bob.test.near", 64 scratch, 96 UTF-16 "hi", 112 "callee", 128 AS string, 160 u128 1000,
// 192 "callback", 256.. scratch for inputs.
const HOST = `(module
  ${imports({
    input: [1, false],
    read_register: [2, false],
    register_len: [1, true],
    value_return: [2, false],
    storage_write: [5, true],
    storage_read: [3, true],
    storage_remove: [3, true],
    storage_has_key: [2, true],
    log_utf8: [2, false],
    log_utf16: [2, false],
    panic_utf8: [2, false],
    panic: [0, false],
    current_account_id: [1, false],
    predecessor_account_id: [1, false],
    block_index: [0, true],
    account_balance: [1, false],
    attached_deposit: [1, false],
    prepaid_gas: [0, true],
    used_gas: [0, true],
    sha256: [3, false],
    keccak256: [3, false],
    keccak512: [3, false],
    ripemd160: [3, false],
    ed25519_verify: [6, true],
    promise_batch_create: [2, true],
    promise_batch_action_transfer: [2, false],
    promise_create: [8, true],
    promise_then: [9, true],
    promise_and: [2, true],
    promise_return: [1, false],
    promise_results_count: [0, true],
    promise_result: [2, true],
  })}
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello")
  (data (i32.const 16) "k")
  (data (i32.const 32) "v1")
  (data (i32.const 48) "bob.test.near")
  (data (i32.const 96) "h\\00i\\00")
  (data (i32.const 112) "callee")
  (data (i32.const 124) "\\04\\00\\00\\00o\\00k\\00")
  (data (i32.const 160) "\\e8\\03")
  (data (i32.const 192) "callback")
  (func $return_i64 (param $v i64)
    (i64.store (i32.const 64) (local.get $v))
    (call $value_return (i64.const 8) (i64.const 64)))
  (func (export "echo")
    (call $input (i64.const 0))
    (call $value_return (i64.const -1) (i64.const 0)))
  (func (export "write")
    (if (i64.eq (call $storage_write (i64.const 1) (i64.const 16) (i64.const 2) (i64.const 32) (i64.const 1)) (i64.const 1))
      (then (call $value_return (i64.const -1) (i64.const 1)))))
  (func (export "read")
    (if (i64.eq (call $storage_read (i64.const 1) (i64.const 16) (i64.const 2)) (i64.const 1))
      (then (call $value_return (i64.const -1) (i64.const 2)))
      (else (call $value_return (i64.const 4) (i64.const 200)))))
  (func (export "has") (call $return_i64 (call $storage_has_key (i64.const 1) (i64.const 16))))
  (func (export "remove") (drop (call $storage_remove (i64.const 1) (i64.const 16) (i64.const 3))))
  (func (export "logs")
    (call $log_utf8 (i64.const 5) (i64.const 0))
    (call $log_utf8 (i64.const -1) (i64.const 0))
    (call $log_utf16 (i64.const 4) (i64.const 96)))
  (func (export "panics") (call $panic_utf8 (i64.const 5) (i64.const 0)))
  (func (export "panics_plain") (call $panic))
  (func (export "aborts") (call $abort (i32.const 128) (i32.const 128) (i32.const 7) (i32.const 9)))
  (func (export "whoami")
    (call $predecessor_account_id (i64.const 0))
    (call $value_return (i64.const -1) (i64.const 0)))
  (func (export "me")
    (call $current_account_id (i64.const 0))
    (call $value_return (i64.const -1) (i64.const 0)))
  (func (export "height") (call $return_i64 (call $block_index)))
  (func (export "balance")
    (call $account_balance (i64.const 64))
    (call $value_return (i64.const 16) (i64.const 64)))
  (func (export "deposit")
    (call $attached_deposit (i64.const 64))
    (call $value_return (i64.const 16) (i64.const 64)))
  (func (export "prepaid") (call $return_i64 (call $prepaid_gas)))
  (func (export "used") (call $return_i64 (call $used_gas)))
  (func (export "sha256")
    (call $input (i64.const 0))
    (call $sha256 (i64.const -1) (i64.const 0) (i64.const 1))
    (call $value_return (i64.const -1) (i64.const 1)))
  (func (export "keccak256")
    (call $input (i64.const 0))
    (call $keccak256 (i64.const -1) (i64.const 0) (i64.const 1))
    (call $value_return (i64.const -1) (i64.const 1)))
  (func (export "keccak512")
    (call $input (i64.const 0))
    (call $keccak512 (i64.const -1) (i64.const 0) (i64.const 1))
    (call $value_return (i64.const -1) (i64.const 1)))
  (func (export "ripemd160")
    (call $input (i64.const 0))
    (call $ripemd160 (i64.const -1) (i64.const 0) (i64.const 1))
    (call $value_return (i64.const -1) (i64.const 1)))
  ;; input = signature (64) || public key (32) || message
  (func (export "ed25519")
    (call $input (i64.const 0))
    (call $read_register (i64.const 0) (i64.const 256))
    (call $return_i64 (call $ed25519_verify
      (i64.const 64) (i64.const 256)
      (i64.sub (call $register_len (i64.const 0)) (i64.const 96)) (i64.const 352)
      (i64.const 32) (i64.const 320))))
  (func (export "pay_bob")
    (call $promise_batch_action_transfer
      (call $promise_batch_create (i64.const 13) (i64.const 48)) (i64.const 160)))
  (func (export "call_then")
    (call $promise_return
      (call $promise_then
        (call $promise_and
          (block (result i64)
            (i64.store (i32.const 64)
              (call $promise_create (i64.const 13) (i64.const 48) (i64.const 6) (i64.const 112)
                (i64.const 5) (i64.const 0) (i64.const 200) (i64.const 5000000000000)))
            (i64.store (i32.const 72)
              (call $promise_create (i64.const 13) (i64.const 48) (i64.const 6) (i64.const 112)
                (i64.const 5) (i64.const 0) (i64.const 200) (i64.const 5000000000000)))
            (i64.const 64))
          (i64.const 2))
        (i64.const 13) (i64.const 48) (i64.const 8) (i64.const 192)
        (i64.const 0) (i64.const 0) (i64.const 200) (i64.const 5000000000000))))
  (func (export "callback")
    (if (i64.ne (call $promise_results_count) (i64.const 2)) (then unreachable))
    (if (i64.eq (call $promise_result (i64.const 1) (i64.const 0)) (i64.const 1))
      (then (call $value_return (i64.const -1) (i64.const 0)))
      (else (call $value_return (i64.const 4) (i64.const 200)))))
  (func (export "bad_pointer") (call $value_return (i64.const 10) (i64.const 4294967295)))
)`;

const host = () => watContract(runtime, HOST);

test("input, registers and value_return, reading a register where memory is expected", (t) => {
  const c = host();
  t.is(text(c.run("echo", { hi: "there" })), '{"hi":"there"}');
  t.is(text(c.run("me")), "wasm.test.near");
  t.is(text(c.run("whoami", {}, { predecessorAccountId: "carol.test.near" })), "carol.test.near");
});

test("storage round trip with nearcore's storage usage and evicted values", (t) => {
  const c = host();
  const before = c.storageUsage;
  const first = c.run("write");
  t.is(first.returnData.kind, "None");
  t.is(c.storageUsage - before, 1n + 2n + 40n);
  t.is(text(c.run("write")), "v1", "the second write returns the evicted value");
  t.is(text(c.view("read")), "v1");
  t.is(u64(c.view("has")), 1n);
  t.falsy(c.run("remove").error);
  t.is(c.storageUsage, before);
  t.is(u64(c.view("has")), 0n);
  t.is(c.view("read").returnData.kind, "Value");
  t.deepEqual(value(c.view("read")), new Uint8Array(4));
});

test("logs (UTF-8 with a length or NUL-terminated, UTF-16) and panics", (t) => {
  const c = host();
  t.deepEqual(c.run("logs").logs, ["hello", "hello", "hi"]);
  t.is(executionError(c.run("panics")), "Smart contract panicked: hello");
  t.is(executionError(c.run("panics_plain")), "Smart contract panicked: explicit guest panic");
  const aborted = c.run("aborts");
  t.is(executionError(aborted), 'Smart contract panicked: ok, filename: "ok" line: 7 col: 9');
  t.deepEqual(aborted.logs, ['ABORT: ok, filename: "ok" line: 7 col: 9']);
});

test("context: block, balances and deposit as u128 in memory, prepaid and used gas", (t) => {
  const c = host();
  const out = c.run("height");
  t.is(u64(out), c.height);
  t.is(u128(c.run("balance")), c.balance);
  t.is(u128(c.run("deposit", {}, { attachedDeposit: 7n * NEAR })), 7n * NEAR);
  t.is(u64(c.run("prepaid", {}, { prepaidGas: 42n * TGAS })), 42n * TGAS);
  const used = u64(c.run("used"));
  t.true(used > loading(c.code) && used < TGAS, `used_gas ${used}`);
  t.deepEqual(error(c.view("deposit")), {
    ExecutionError: "attached_deposit is not allowed in view calls",
  });
});

test("hashes and ed25519_verify agree with reference implementations", (t) => {
  const c = host();
  const data = new TextEncoder().encode('{"some":"bytes"}');
  const hex = (out: VMOutcome) => Buffer.from(value(out)).toString("hex");
  t.is(hex(c.run("sha256", { some: "bytes" })), createHash("sha256").update(data).digest("hex"));
  t.is(hex(c.run("keccak256", { some: "bytes" })), Buffer.from(keccak_256(data)).toString("hex"));
  t.is(hex(c.run("keccak512", { some: "bytes" })), Buffer.from(keccak_512(data)).toString("hex"));
  t.is(hex(c.run("ripemd160", { some: "bytes" })), Buffer.from(ripemd160(data)).toString("hex"));

  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pk = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const message = Buffer.from("signed by the key");
  const signature = sign(null, message, privateKey);
  const verify = (sig: Buffer, msg: Buffer) => {
    const input = Buffer.concat([sig, pk, msg]);
    return u64(c.run("ed25519", {}, { input }));
  };
  t.is(verify(signature, message), 1n);
  t.is(verify(signature, Buffer.from("another message")), 0n);
});

test("promises: a transfer, two calls joined into one callback, promise results", (t) => {
  const c = host();
  const pay = c.run("pay_bob", {}, { attachedDeposit: 0n });
  t.deepEqual(pay.receipts, [
    { receiverId: "bob.test.near", actions: [{ type: "Transfer", deposit: 1000n }], dependsOn: [] },
  ]);
  t.is(pay.balance, c.balance + 0n - 0n);
  const call = c.run("call_then");
  t.is(call.receipts.length, 3);
  t.deepEqual(call.receipts[2]?.dependsOn, [0, 1]);
  t.like(call.receipts[0]?.actions[0], { type: "FunctionCall", methodName: "callee", gas: 5n * TGAS });
  t.deepEqual(call.returnData, { kind: "ReceiptIndex", index: 2 });
  t.true(call.gasUsed >= call.gasBurnt + 15n * TGAS, "prepaid gas of created calls is used, not burnt");
  const ok = c.run(
    "callback",
    {},
    {
      promiseResults: [{ status: "Failed" }, { status: "Successful", data: new TextEncoder().encode("yes") }],
    },
  );
  t.is(text(ok), "yes");
  t.is(
    executionError(c.run("callback", {}, { promiseResults: [] })),
    "WebAssembly trap: An `unreachable` opcode was executed.",
  );
});

test("a host function given memory outside the module's fails with MemoryAccessViolation", (t) => {
  t.is(executionError(host().run("bad_pointer")), "Accessed memory outside the bounds.");
});

test("gas is nearcore's regular_op_cost per executed instruction plus contract loading", (t) => {
  const c = watContract(
    runtime,
    `(module (func (export "main") (local $i i32)
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))))`,
  );
  const out = c.run("main");
  t.falsy(out.error);
  // loop (1) + 1000 iterations of 8 instructions; `end` is free.
  t.is(out.gasBurnt, loading(c.code) + 8001n * REGULAR_OP);
  t.is(out.gasUsed, out.gasBurnt);
});

test("an endless loop fails with GasExceeded and burns all prepaid gas; 300 Tgas is the burn limit", (t) => {
  const c = watContract(runtime, `(module (func (export "main") (loop $l (br $l))))`);
  const out = c.run("main", {}, { prepaidGas: 5n * TGAS });
  t.is(executionError(out), "Exceeded the prepaid gas.");
  t.is(out.gasBurnt, 5n * TGAS);
  const capped = c.run("main", {}, { prepaidGas: 400n * TGAS });
  t.is(executionError(capped), "Exceeded the maximum amount of gas allowed to burn per contract.");
  t.is(capped.gasBurnt, 300n * TGAS);
  const recursion = watContract(runtime, `(module (func $f (export "main") (call $f)))`);
  const deep = recursion.run("main", {}, { prepaidGas: (1n * TGAS) / 10n });
  t.true(
    ["Exceeded the prepaid gas.", "WebAssembly trap: Stack overflow."].includes(executionError(deep) ?? ""),
    executionError(deep),
  );
});

test("traps use nearcore's WasmTrap messages and burn only what ran", (t) => {
  const trap = (body: string) => {
    const out = watContract(
      runtime,
      `(module (memory 1) (table 1 funcref) (type $v (func))
      (func (export "main") ${body}))`,
    ).run("main");
    t.true(out.gasBurnt < TGAS);
    return executionError(out);
  };
  t.is(trap("unreachable"), "WebAssembly trap: An `unreachable` opcode was executed.");
  t.is(
    trap("(drop (i32.div_s (i32.const 1) (i32.const 0)))"),
    "WebAssembly trap: An arithmetic exception, e.g. divided by zero.",
  );
  t.is(trap("(drop (i32.load (i32.const 70000)))"), "WebAssembly trap: Memory out of bounds trap.");
  t.is(
    trap("(call_indirect (type $v) (i32.const 5))"),
    "WebAssembly trap: Call indirect out of bounds trap.",
  );
  const deep = watContract(runtime, `(module (func $f (export "main") (call $f)))`).run(
    "main",
    {},
    { prepaidGas: 300n * TGAS },
  );
  t.is(executionError(deep), "WebAssembly trap: Stack overflow.");
});

test("preparation errors: malformed code, foreign imports, memory imports, unsupported features", (t) => {
  const run = (code: Uint8Array) =>
    new DeployedContract(runtime, code, "bad.test.near", createHash("sha256").update(code).digest("hex")).run(
      "main",
    );
  const prepareError = (kind: string) => ({ CompilationError: { PrepareError: kind } });
  t.deepEqual(
    error(run(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff))),
    prepareError("Deserialization"),
  );
  t.deepEqual(
    error(run(wat(`(module (import "other" "f" (func)) (func (export "main")))`))),
    prepareError("Instantiate"),
  );
  t.deepEqual(
    error(run(wat(`(module (import "env" "memory" (memory 1)) (func (export "main")))`))),
    prepareError("Memory"),
  );
  t.deepEqual(
    error(run(wat(`(module (import "env" "g" (global i32)) (func (export "main")))`))),
    prepareError("Instantiate"),
  );
  const bulk = wat(
    `(module (memory 1) (func (export "main") (memory.fill (i32.const 0) (i32.const 0) (i32.const 1))))`,
    { bulk_memory: true },
  );
  t.deepEqual(error(run(bulk)), prepareError("Deserialization"));
  const simd = wat(`(module (func (export "main") (drop (v128.const i32x4 0 0 0 0))))`, { simd: true });
  t.deepEqual(error(run(simd)), prepareError("Deserialization"));
  const invalid = wat(`(module (func (export "main") (drop (i32.add (i32.const 1) (i64.const 2)))))`);
  t.deepEqual(error(run(invalid)), prepareError("Deserialization"));
});

test("linking and method resolution: unknown imports, wrong signatures, missing and invalid methods", (t) => {
  const run = (source: string, method = "main") => watContract(runtime, source).run(method);
  t.deepEqual(error(run(`(module (import "env" "no_such_fn" (func)) (func (export "main")))`)), {
    LinkError: { msg: 'Error while importing "env"."no_such_fn": unknown import' },
  });
  t.deepEqual(error(run(`(module (import "env" "input" (func (param i32))) (func (export "main")))`)), {
    LinkError: { msg: 'Error while importing "env"."input": incompatible import type' },
  });
  t.deepEqual(error(run(`(module (func (export "main")))`, "other")), {
    MethodResolveError: "MethodNotFound",
  });
  t.deepEqual(error(run(`(module (func (export "main") (param i32)))`)), {
    MethodResolveError: "MethodInvalidSignature",
  });
  t.deepEqual(error(run(`(module (func (export "main")))`, "")), { MethodResolveError: "MethodEmptyName" });
  const gasExport = run(`(module (func (export "main")))`, "\0localnet:gas");
  t.deepEqual(
    error(gasExport),
    { MethodResolveError: "MethodNotFound" },
    "the metering counter is not a method",
  );
});

test("a start function runs before the method and is metered", (t) => {
  const c = watContract(
    runtime,
    `(module ${imports({ log_utf8: [2, false] })} (memory 1) (data (i32.const 0) "started")
      (func $start (call $log_utf8 (i64.const 7) (i64.const 0))) (start $start)
      (func (export "main")))`,
  );
  const out = c.run("main");
  t.deepEqual(out.logs, ["started"]);
  const looping = watContract(
    runtime,
    `(module (func $start (loop $l (br $l))) (start $start) (func (export "main")))`,
  );
  t.is(executionError(looping.run("main", {}, { prepaidGas: TGAS })), "Exceeded the prepaid gas.");
});

test("every call gets fresh memory and globals", (t) => {
  const c = watContract(
    runtime,
    `(module ${imports({ value_return: [2, false] })} (memory 1) (global $n (mut i32) (i32.const 0))
      (func (export "main")
        (global.set $n (i32.add (global.get $n) (i32.const 1)))
        (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (global.get $n)))
        (call $value_return (i64.const 4) (i64.const 8))))`,
  );
  const first = Buffer.from(value(c.run("main"))).readUInt32LE(0);
  const second = Buffer.from(value(c.run("main"))).readUInt32LE(0);
  t.is(first, 1);
  t.is(second, 1);
});
