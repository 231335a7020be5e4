// Installs the global `env` of near-sdk-js 2.0's builder (builder/builder.c) into a QuickJS context:
// exactly its functions, with its argument conversions (u64 from Number or BigInt, u128 amounts,
// Uint8Array bytes, strings) and return types (BigInt for u64/u128, Uint8Array for bytes).
// Strings cross whole in both directions (NUL bytes and lone surrogates included: quickjs-emscripten's
// getString/newString go through C strings and would cut or mangle them), then are converted to
// and from bytes the way near's QuickJS does (quickjs-strings.ts).
// One file over 350 lines on purpose: one binding per function of builder.c's env list, in one place,
// so a missing or extra one shows against that list.
import type { QuickJSContext, QuickJSHandle, VmCallResult } from "quickjs-emscripten";
import { type CallSlot, OutsideCallError } from "./call-slot.js";
import { HostError } from "./errors.js";
import { COST } from "./gas.js";
import type { VMLogic } from "./logic.js";
import { U64_MAX } from "./logic.js";
import { fromCString, fromRawLatin1, isWellFormed, toCString, toRawLatin1 } from "./quickjs-strings.js";

const U128_LIMIT = 1n << 128n;

/** A conversion failure: builder.c throws a catchable TypeError for these, not a host error. */
class ArgTypeError extends Error {}

// biome-ignore lint/suspicious/noConfusingVoidType: lets one-line implementations return nothing
type Ret = QuickJSHandle | undefined | void;
type Impl = (args: Args, logic: VMLogic) => Ret;

/**
 * Strings nearcore decodes as UTF-8: builder.c passes JS_ToCStringLen's bytes, which are not UTF-8
 * when the string has a lone surrogate. nearcore refuses such an account id with BadUTF8 (logic.rs
 * read_and_parse_account_id) and such a method name with InvalidMethodName (receipt_manager.rs).
 */
function utf8Name(s: string, error: "BadUTF8" | "InvalidMethodName" = "BadUTF8"): string {
  if (!isWellFormed(s)) throw new HostError(error);
  return s;
}
const methodName = (s: string) => utf8Name(s, "InvalidMethodName");

/** Argument accessors for one host call, converting the way builder.c does. */
class Args {
  constructor(
    private readonly vm: QuickJSContext,
    private readonly strings: GuestStrings,
    private readonly handles: QuickJSHandle[],
  ) {}

  get length(): number {
    return this.handles.length;
  }

  private at(i: number): QuickJSHandle {
    return this.handles[i] ?? this.vm.undefined;
  }

  /**
   * JS_ToUint64Ext: a BigInt must lie in [0, 2^64) (JS_ToBigUint64), anything else is ToInt64:
   * truncated toward zero and taken modulo 2^64 (-1 is 2^64-1, 2^64 is 0), NaN and ±Infinity are 0.
   */
  u64(i: number, what = "register_id"): bigint {
    const h = this.at(i);
    const type = this.vm.typeof(h);
    if (type === "bigint") {
      const v = this.vm.getBigInt(h);
      if (v < 0n || v > U64_MAX) throw new ArgTypeError(`Expect Uint64 for ${what}`);
      return v;
    }
    if (type === "symbol") throw new ArgTypeError(`Expect Uint64 for ${what}`);
    const n = this.vm.getNumber(h);
    return Number.isFinite(n) ? BigInt.asUintN(64, BigInt(Math.trunc(n))) : 0n;
  }

  /**
   * quickjs_to_u128: a BigInt ≥ 2^128 is a TypeError and a negative one is 0 (both of its u64 limbs
   * come out of libbf's bf_get_uint64, which gives 0 for a negative value); a number is a u64.
   */
  u128(i: number, what = "amount"): bigint {
    const h = this.at(i);
    if (this.vm.typeof(h) !== "bigint") return this.u64(i, what);
    const v = this.vm.getBigInt(h);
    if (v >= U128_LIMIT) throw new ArgTypeError(`Expect Uint128 for ${what}`);
    return v < 0n ? 0n : v;
  }

  /** The argument converted to a string (JS_ToString), every code unit of it. */
  str(i: number): string {
    return this.strings.read(this.at(i));
  }

  /** JS_ToCStringLen's bytes of the argument. */
  cString(i: number): Uint8Array {
    return toCString(this.str(i));
  }

  /** JS_Uint8Array_to_C: any typed array with 1-byte elements; anything else is a TypeError. */
  bytes(i: number, what = "data"): Uint8Array {
    const h = this.at(i);
    const vm = this.vm;
    if (vm.typeof(h) !== "object") throw new ArgTypeError(`Expect Uint8Array for ${what}`);
    const bpe = vm.getProp(h, "BYTES_PER_ELEMENT");
    const ok = vm.typeof(bpe) === "number" && vm.getNumber(bpe) === 1;
    bpe.dispose();
    if (!ok) throw new ArgTypeError(`Expect Uint8Array for ${what}`);
    const buffer = vm.getProp(h, "buffer");
    const offset = vm.getProp(h, "byteOffset");
    const length = vm.getProp(h, "byteLength");
    try {
      const start = vm.getNumber(offset);
      const len = vm.getNumber(length);
      if (len === 0) return new Uint8Array(0);
      const view = vm.getArrayBuffer(buffer);
      try {
        return view.value.slice(start, start + len);
      } finally {
        view.dispose();
      }
    } finally {
      buffer.dispose();
      offset.dispose();
      length.dispose();
    }
  }
}

/**
 * Moves strings between the host and the VM without loss. quickjs-emscripten only has C-string
 * transfers (cut at the first NUL, lone surrogates replaced), so those serve the common case and the
 * rest goes through the prelude's JSON helpers (`helpers.quote` / `helpers.unquote`, see prelude.ts):
 * well-formed JSON escapes every NUL and lone surrogate, leaving plain text.
 */
export class GuestStrings {
  constructor(
    private readonly vm: QuickJSContext,
    private readonly helpers: QuickJSHandle,
  ) {}

  /** JS_ToString of `h` (user toString included, once), exactly. */
  read(h: QuickJSHandle): string {
    const vm = this.vm;
    if (vm.typeof(h) === "string") {
      const s = vm.getString(h);
      // Nothing cut at a NUL (same length) and no lone surrogate replaced (no U+FFFD): exact.
      if (!s.includes("\uFFFD")) {
        const length = vm.getProp(h, "length");
        const n = vm.getNumber(length);
        length.dispose();
        if (n === s.length) return s;
      }
    }
    const json = this.call("quote", vm.undefined, h);
    try {
      return JSON.parse(vm.getString(json)) as string;
    } finally {
      json.dispose();
    }
  }

  /** A new VM string with exactly the code units of `s`. */
  create(s: string): QuickJSHandle {
    if (!s.includes("\0") && isWellFormed(s)) return this.vm.newString(s);
    const json = this.vm.newString(JSON.stringify(s));
    try {
      return this.call("unquote", this.vm.undefined, json);
    } finally {
      json.dispose();
    }
  }

  private call(name: "quote" | "unquote", self: QuickJSHandle, arg: QuickJSHandle): QuickJSHandle {
    const fn = this.vm.getProp(this.helpers, name);
    try {
      const result = this.vm.callFunction(fn, self, arg);
      if (result.error) {
        result.error.dispose();
        throw new ArgTypeError("cannot convert the argument to a string");
      }
      return result.value;
    } finally {
      fn.dispose();
    }
  }
}

/**
 * Creates `env` in `vm`. `helpers` is what the prelude's setup returned: a function building a
 * Uint8Array from an ArrayBuffer handle inside the VM (the C API has JS_CallConstructor;
 * quickjs-emscripten does not), carrying the string helpers GuestStrings uses. Every function reads
 * the call from `slot` when invoked, so `env` stays valid across calls when the context lives in a
 * snapshot.
 */
export function installEnv(vm: QuickJSContext, slot: CallSlot, helpers: QuickJSHandle): void {
  const newUint8Array = helpers;
  const strings = new GuestStrings(vm, helpers);
  const big = (v: bigint) => vm.newBigInt(v);
  const u8 = (data: Uint8Array): QuickJSHandle => {
    const ab = vm.newArrayBuffer(
      data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
    );
    const result = vm.callFunction(newUint8Array, vm.undefined, ab);
    ab.dispose();
    return vm.unwrapResult(result);
  };

  // Name -> [implementation, prohibited in view calls]
  const fns: Record<string, [Impl, boolean?]> = {
    read_register: [
      (a, logic) => {
        const id = a.u64(0);
        return logic.registerLen(id) === U64_MAX ? undefined : u8(logic.readRegister(id));
      },
    ],
    register_len: [(a, logic) => big(logic.registerLen(a.u64(0)))],
    write_register: [(a, logic) => void logic.writeRegister(a.u64(0), a.bytes(1))],
    current_account_id: [(a, logic) => void logic.accountIdRegister("current", a.u64(0))],
    signer_account_id: [(a, logic) => void logic.accountIdRegister("signer", a.u64(0)), true],
    signer_account_pk: [(a, logic) => void logic.signerAccountPk(a.u64(0)), true],
    predecessor_account_id: [(a, logic) => void logic.accountIdRegister("predecessor", a.u64(0)), true],
    input: [(a, logic) => void logic.input(a.u64(0))],
    block_index: [(_a, logic) => big(logic.context.blockHeight)],
    block_timestamp: [(_a, logic) => big(logic.context.blockTimestamp)],
    epoch_height: [(_a, logic) => big(logic.context.epochHeight)],
    storage_usage: [(_a, logic) => big(logic.storageUsage)],
    account_balance: [(_a, logic) => big(logic.balance)],
    account_locked_balance: [(_a, logic) => big(logic.context.accountLockedBalance)],
    attached_deposit: [(_a, logic) => big(logic.context.attachedDeposit), true],
    prepaid_gas: [(_a, logic) => big(logic.context.prepaidGas), true],
    used_gas: [(_a, logic) => big(logic.gas.used), true],
    random_seed: [(a, logic) => void logic.randomSeed(a.u64(0))],
    sha256: [(a, logic) => void logic.hash("sha256", a.bytes(0), a.u64(1))],
    keccak256: [(a, logic) => void logic.hash("keccak256", a.bytes(0), a.u64(1))],
    keccak512: [(a, logic) => void logic.hash("keccak512", a.bytes(0), a.u64(1))],
    ripemd160: [(a, logic) => void logic.hash("ripemd160", a.bytes(0), a.u64(1))],
    ecrecover: [
      (a, logic) => {
        const hash = a.bytes(0, "hash");
        const sig = a.bytes(1, "sig");
        return big(logic.ecrecover(hash, sig, a.u64(2, "v"), a.u64(3, "malleability_flag"), a.u64(4)));
      },
    ],
    value_return: [
      (a, logic) => {
        // builder.c hands nearcore a pointer into WASM memory, which nearcore reads (and charges).
        const value = a.bytes(0, "value");
        logic.gas.burn(COST.read_memory_base + COST.read_memory_byte * BigInt(value.length));
        logic.valueReturn(value);
      },
    ],
    panic: [(a, logic) => (a.length >= 1 ? logic.panicUtf8(a.cString(0)) : logic.panicUtf8Explicit())],
    panic_utf8: [(a, logic) => logic.panicUtf8(a.bytes(0, "message"))],
    log: [(a, logic) => void logic.logUtf8(a.cString(0))],
    log_utf8: [(a, logic) => void logic.logUtf8(a.bytes(0, "message"))],
    log_utf16: [(a, logic) => void logic.logUtf16(a.bytes(0, "message"))],
    promise_create: [
      (a, logic) => {
        const accountId = a.str(0);
        const method = a.str(1);
        const args = a.bytes(2, "arguments");
        const amount = a.u128(3);
        const gas = a.u64(4, "gas");
        const index = logic.promiseBatchCreate(utf8Name(accountId));
        logic.actionFunctionCall(index, methodName(method), args, amount, gas);
        return big(index);
      },
      true,
    ],
    promise_then: [
      (a, logic) => {
        const promise = a.u64(0, "promise_index");
        const accountId = a.str(1);
        const method = a.str(2);
        const args = a.bytes(3, "arguments");
        const amount = a.u128(4);
        const gas = a.u64(5, "gas");
        const index = logic.promiseBatchThen(promise, utf8Name(accountId));
        logic.actionFunctionCall(index, methodName(method), args, amount, gas);
        return big(index);
      },
      true,
    ],
    promise_and: [
      (a, logic) => {
        const indices: bigint[] = [];
        for (let i = 0; i < a.length; i++) indices.push(a.u64(i, "promise_id"));
        return big(logic.promiseAnd(indices));
      },
      true,
    ],
    promise_batch_create: [(a, logic) => big(logic.promiseBatchCreate(utf8Name(a.str(0)))), true],
    promise_batch_then: [
      (a, logic) => big(logic.promiseBatchThen(a.u64(0, "promise_index"), utf8Name(a.str(1)))),
      true,
    ],
    promise_batch_action_create_account: [
      (a, logic) => void logic.actionCreateAccount(a.u64(0, "promise_index")),
      true,
    ],
    promise_batch_action_deploy_contract: [
      (a, logic) => void logic.actionDeployContract(a.u64(0, "promise_index"), a.bytes(1, "code")),
      true,
    ],
    promise_batch_action_function_call: [
      (a, logic) => {
        const promise = a.u64(0, "promise_index");
        const method = a.str(1);
        const args = a.bytes(2, "arguments");
        logic.actionFunctionCall(promise, methodName(method), args, a.u128(3), a.u64(4, "gas"));
      },
      true,
    ],
    promise_batch_action_transfer: [
      (a, logic) => void logic.actionTransfer(a.u64(0, "promise_index"), a.u128(1)),
      true,
    ],
    promise_batch_action_stake: [
      (a, logic) => void logic.actionStake(a.u64(0, "promise_index"), a.u128(1), a.bytes(2, "public_key")),
      true,
    ],
    promise_batch_action_add_key_with_full_access: [
      (a, logic) => {
        const promise = a.u64(0, "promise_index");
        const publicKey = a.bytes(1, "public_key");
        logic.actionAddKey(promise, publicKey, { nonce: a.u64(2, "nonce"), permission: "FullAccess" });
      },
      true,
    ],
    promise_batch_action_add_key_with_function_call: [
      (a, logic) => {
        const promise = a.u64(0, "promise_index");
        const publicKey = a.bytes(1, "public_key");
        const nonce = a.u64(2, "nonce");
        const allowance = a.u128(3, "allowance");
        const receiverId = utf8Name(a.str(4));
        const methods = methodName(a.str(5));
        logic.actionAddKey(promise, publicKey, {
          nonce,
          permission: {
            receiverId,
            methodNames: methods === "" ? [] : methods.split(","),
            allowance: allowance === 0n ? null : allowance,
          },
        });
      },
      true,
    ],
    promise_batch_action_delete_key: [
      (a, logic) => void logic.actionDeleteKey(a.u64(0, "promise_index"), a.bytes(1, "public_key")),
      true,
    ],
    promise_batch_action_delete_account: [
      (a, logic) => void logic.actionDeleteAccount(a.u64(0, "promise_index"), utf8Name(a.str(1))),
      true,
    ],
    promise_batch_action_function_call_weight: [
      (a, logic) => {
        const promise = a.u64(0, "promise_index");
        const method = a.str(1);
        // builder.c reads these arguments with JS_ToCStringLenRaw, not as a Uint8Array: near-sdk-js's
        // own Uint8Array becomes its toString ("123,34,…") on chain, and so it does here.
        const args = toRawLatin1(a.str(2));
        logic.actionFunctionCall(
          promise,
          methodName(method),
          args,
          a.u128(3),
          a.u64(4, "gas"),
          a.u64(5, "weight"),
        );
      },
      true,
    ],
    promise_results_count: [(_a, logic) => big(logic.promiseResultsCount()), true],
    promise_result: [(a, logic) => big(logic.promiseResult(a.u64(0, "result_idx"), a.u64(1))), true],
    promise_return: [(a, logic) => void logic.promiseReturn(a.u64(0, "promise_idx")), true],
    storage_write: [
      (a, logic) => big(logic.storageWrite(a.bytes(0, "key"), a.bytes(1, "value"), a.u64(2))),
      true,
    ],
    storage_read: [(a, logic) => big(logic.storageRead(a.bytes(0, "key"), a.u64(1)))],
    storage_remove: [(a, logic) => big(logic.storageRemove(a.bytes(0, "key"), a.u64(1))), true],
    storage_has_key: [(a, logic) => big(logic.storageHasKey(a.bytes(0, "key")))],
    validator_stake: [
      (a, logic) => {
        utf8Name(a.str(0));
        logic.gas.burn(COST.validator_stake_base);
        return big(0n);
      },
    ],
    validator_total_stake: [
      (_a, logic) => {
        logic.gas.burn(COST.validator_stake_base);
        return big(0n);
      },
    ],
    alt_bn128_g1_multiexp: [(a, logic) => void logic.altBn128G1Multiexp(a.bytes(0), a.u64(1))],
    alt_bn128_g1_sum: [(a, logic) => void logic.altBn128G1Sum(a.bytes(0), a.u64(1))],
    alt_bn128_pairing_check: [(a, logic) => big(logic.altBn128PairingCheck(a.bytes(0)))],
  };

  // Builder helpers: conversions only, no NEAR host call behind them (so no gas, no view check).
  const conversions: Record<string, Impl> = {
    latin1_string_to_uint8array: (a) => u8(toRawLatin1(a.str(0))),
    utf8_string_to_uint8array: (a) => u8(a.cString(0)),
    uint8array_to_latin1_string: (a) => strings.create(fromRawLatin1(a.bytes(0, ""))),
    uint8array_to_utf8_string: (a) => strings.create(fromCString(a.bytes(0, ""))),
  };

  const call = (name: string, impl: Impl, viewProhibited: boolean | undefined, isHost: boolean) =>
    vm.newFunction(
      name,
      (...handles: QuickJSHandle[]): VmCallResult<QuickJSHandle> | QuickJSHandle | undefined => {
        try {
          const logic = slot.logic;
          if (isHost) logic.enter(name, viewProhibited);
          else if (logic.fatal) throw logic.fatal;
          return impl(new Args(vm, strings, handles), logic) ?? undefined;
        } catch (e) {
          if (e instanceof OutsideCallError) return { error: vm.newError(e.message) };
          if (e instanceof ArgTypeError)
            return { error: vm.newError({ name: "TypeError", message: e.message }) };
          if (e instanceof HostError) {
            const fatal = slot.logic.fail(e);
            return { error: vm.newError({ name: "Error", message: fatal.message }) };
          }
          slot.internalError(e);
          return { error: vm.newError({ name: "InternalError", message: "localnet host error" }) };
        }
      },
    );

  const env = vm.newObject();
  for (const [name, [impl, viewProhibited]] of Object.entries(fns)) {
    const fn = call(name, impl, viewProhibited, true);
    vm.setProp(env, name, fn);
    fn.dispose();
  }
  for (const [name, impl] of Object.entries(conversions)) {
    const fn = call(name, impl, false, false);
    vm.setProp(env, name, fn);
    fn.dispose();
  }
  vm.setProp(vm.global, "env", env);
  env.dispose();
}

/**
 * The two host functions the prelude's setup function takes (see prelude.ts): the block timestamp in
 * ms and a word of the random seed, both of the current call. Not NEAR host functions: no gas.
 */
export function newPreludeHostFunctions(vm: QuickJSContext, slot: CallSlot): [QuickJSHandle, QuickJSHandle] {
  const guard =
    (read: (arg: QuickJSHandle | undefined) => number) =>
    (...handles: QuickJSHandle[]): VmCallResult<QuickJSHandle> | QuickJSHandle => {
      try {
        return vm.newNumber(read(handles[0]));
      } catch (e) {
        if (!(e instanceof OutsideCallError)) slot.internalError(e);
        return { error: vm.newError(e instanceof Error ? e.message : "localnet host error") };
      }
    };
  return [
    vm.newFunction(
      "blockNowMs",
      guard(() => slot.nowMs()),
    ),
    vm.newFunction(
      "blockSeedWord",
      guard((arg) => slot.seedWord(arg ? vm.getNumber(arg) : 0)),
    ),
  ];
}
