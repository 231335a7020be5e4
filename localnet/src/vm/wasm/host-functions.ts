// NEAR's host functions (nearcore's `env` imports) for WASM contracts: arguments are u64 pointers and
// lengths into the contract's memory (memory.ts), the rules live in VMLogic, shared with the JS bundle
// path (env-bindings.ts). Each entry states its WASM signature, which linking checks as nearcore does.
import { HostError } from "../errors.js";
import { COST } from "../gas.js";
import type { VMLogic } from "../logic.js";
import type { AccessKey } from "../types.js";
import type { GuestMemory } from "./memory.js";
import type { FuncType } from "./prepare.js";

/** What a host function works on during one call. */
export interface HostCall {
  logic: VMLogic;
  mem: GuestMemory;
}

const I32 = 0x7f;
const I64 = 0x7e;
const MAX_TOTAL_LOG = 16 * 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true });

// biome-ignore lint/suspicious/noConfusingVoidType: host functions without a result return nothing
type Impl = (h: HostCall, ...args: bigint[]) => bigint | void;

export interface HostFunction {
  type: FuncType;
  /** ProhibitedInView: state-changing or transaction-context functions. */
  viewProhibited: boolean;
  impl: Impl;
}

const def = (params: number, returns: boolean, impl: Impl, viewProhibited = false): HostFunction => ({
  type: { params: Array(params).fill(I64), results: returns ? [I64] : [] },
  viewProhibited,
  impl,
});
const view = (params: number, returns: boolean, impl: Impl) => def(params, returns, impl, true);

function text(bytes: Uint8Array, error: "BadUTF8" | "InvalidMethodName"): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HostError(error);
  }
}

// nearcore: an account id that is not UTF-8 is BadUTF8 (read_and_parse_account_id), a method name
// InvalidMethodName (receipt_manager.rs).
const accountId = (h: HostCall, len: bigint, ptr: bigint) => text(h.mem.bytes(ptr, len), "BadUTF8");
const methodName = (h: HostCall, len: bigint, ptr: bigint) =>
  text(h.mem.bytes(ptr, len), "InvalidMethodName");

function functionCall(
  h: HostCall,
  promise: bigint,
  [mLen, mPtr, aLen, aPtr, amountPtr, gas]: bigint[],
  weight?: bigint,
): void {
  const method = methodName(h, mLen as bigint, mPtr as bigint);
  const args = h.mem.bytes(aPtr as bigint, aLen as bigint);
  const amount = h.mem.readU128(amountPtr as bigint);
  h.logic.actionFunctionCall(promise, method, args, amount, gas as bigint, weight);
}

function functionCallKey(h: HostCall, args: bigint[]): AccessKey["permission"] {
  const [allowancePtr, receiverLen, receiverPtr, namesLen, namesPtr] = args as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  const allowance = h.mem.readU128(allowancePtr);
  const receiverId = accountId(h, receiverLen, receiverPtr);
  const names = text(h.mem.bytes(namesPtr, namesLen), "InvalidMethodName");
  return { receiverId, methodNames: names === "" ? [] : names.split(","), allowance: allowance || null };
}

export const HOST_FUNCTIONS: Record<string, HostFunction> = {
  // Registers
  read_register: def(2, false, (h, id, ptr) => h.mem.write(ptr, h.logic.readRegister(id))),
  register_len: def(1, true, (h, id) => h.logic.registerLen(id)),
  write_register: def(3, false, (h, id, len, ptr) => h.logic.writeRegister(id, h.mem.read(ptr, len))),

  // Context
  current_account_id: def(1, false, (h, r) => h.logic.accountIdRegister("current", r)),
  signer_account_id: view(1, false, (h, r) => h.logic.accountIdRegister("signer", r)),
  signer_account_pk: view(1, false, (h, r) => h.logic.signerAccountPk(r)),
  predecessor_account_id: view(1, false, (h, r) => h.logic.accountIdRegister("predecessor", r)),
  input: def(1, false, (h, r) => h.logic.input(r)),
  block_index: def(0, true, (h) => h.logic.context.blockHeight),
  block_timestamp: def(0, true, (h) => h.logic.context.blockTimestamp),
  epoch_height: def(0, true, (h) => h.logic.context.epochHeight),
  storage_usage: def(0, true, (h) => h.logic.storageUsage),
  account_balance: def(1, false, (h, ptr) => h.mem.writeU128(ptr, h.logic.balance)),
  account_locked_balance: def(1, false, (h, ptr) =>
    h.mem.writeU128(ptr, h.logic.context.accountLockedBalance),
  ),
  attached_deposit: view(1, false, (h, ptr) => h.mem.writeU128(ptr, h.logic.context.attachedDeposit)),
  prepaid_gas: view(0, true, (h) => h.logic.context.prepaidGas),
  used_gas: view(0, true, (h) => h.logic.gas.used),
  random_seed: def(1, false, (h, r) => h.logic.randomSeed(r)),

  // Crypto
  sha256: def(3, false, (h, len, ptr, r) => h.logic.hash("sha256", h.mem.bytes(ptr, len), r)),
  keccak256: def(3, false, (h, len, ptr, r) => h.logic.hash("keccak256", h.mem.bytes(ptr, len), r)),
  keccak512: def(3, false, (h, len, ptr, r) => h.logic.hash("keccak512", h.mem.bytes(ptr, len), r)),
  ripemd160: def(3, false, (h, len, ptr, r) => h.logic.hash("ripemd160", h.mem.bytes(ptr, len), r)),
  ecrecover: def(7, true, (h, hLen, hPtr, sLen, sPtr, v, flag, r) =>
    h.logic.ecrecover(h.mem.bytes(hPtr, hLen), h.mem.bytes(sPtr, sLen), v, flag, r),
  ),
  ed25519_verify: def(6, true, (h, sLen, sPtr, mLen, mPtr, kLen, kPtr) =>
    h.logic.ed25519Verify(h.mem.bytes(sPtr, sLen), h.mem.bytes(mPtr, mLen), h.mem.bytes(kPtr, kLen)),
  ),
  alt_bn128_g1_multiexp: def(3, false, (h, len, ptr, r) =>
    h.logic.altBn128G1Multiexp(h.mem.bytes(ptr, len), r),
  ),
  alt_bn128_g1_sum: def(3, false, (h, len, ptr, r) => h.logic.altBn128G1Sum(h.mem.bytes(ptr, len), r)),
  alt_bn128_pairing_check: def(2, true, (h, len, ptr) => h.logic.altBn128PairingCheck(h.mem.bytes(ptr, len))),

  // Results, logs, panics
  value_return: def(2, false, (h, len, ptr) => h.logic.valueReturn(h.mem.bytes(ptr, len))),
  panic: def(0, false, (h) => h.logic.panicUtf8Explicit()),
  panic_utf8: def(2, false, (h, len, ptr) => h.logic.panicUtf8(h.mem.string(ptr, len, 1, MAX_TOTAL_LOG))),
  log_utf8: def(2, false, (h, len, ptr) => h.logic.logUtf8(h.mem.string(ptr, len, 1, MAX_TOTAL_LOG))),
  log_utf16: def(2, false, (h, len, ptr) => h.logic.logUtf16(h.mem.string(ptr, len, 2, MAX_TOTAL_LOG))),
  abort: {
    type: { params: [I32, I32, I32, I32], results: [] },
    viewProhibited: false,
    // The runtime hands i32 arguments over as unsigned BigInts too.
    impl: (h, msgPtr, filePtr, line, col) => {
      // AssemblyScript strings: UTF-16 with their byte length in the 4 bytes before them.
      if ((msgPtr as bigint) < 4n || (filePtr as bigint) < 4n) throw new HostError("BadUTF16");
      const asString = (ptr: bigint) => h.mem.read(ptr, BigInt(h.mem.readU32(ptr - 4n)));
      h.logic.abort(asString(msgPtr as bigint), asString(filePtr as bigint), Number(line), Number(col));
    },
  },

  // Promises
  promise_create: view(8, true, (h, accLen, accPtr, ...call) => {
    const index = h.logic.promiseBatchCreate(accountId(h, accLen as bigint, accPtr as bigint));
    functionCall(h, index, call);
    return index;
  }),
  promise_then: view(9, true, (h, promise, accLen, accPtr, ...call) => {
    const index = h.logic.promiseBatchThen(promise, accountId(h, accLen as bigint, accPtr as bigint));
    functionCall(h, index, call);
    return index;
  }),
  promise_and: view(2, true, (h, ptr, count) => h.logic.promiseAnd(h.mem.readU64s(ptr, count))),
  promise_batch_create: view(2, true, (h, len, ptr) => h.logic.promiseBatchCreate(accountId(h, len, ptr))),
  promise_batch_then: view(3, true, (h, p, len, ptr) => h.logic.promiseBatchThen(p, accountId(h, len, ptr))),
  promise_batch_action_create_account: view(1, false, (h, p) => h.logic.actionCreateAccount(p)),
  promise_batch_action_deploy_contract: view(3, false, (h, p, len, ptr) =>
    h.logic.actionDeployContract(p, h.mem.bytes(ptr, len)),
  ),
  promise_batch_action_function_call: view(7, false, (h, p, ...call) => functionCall(h, p, call)),
  promise_batch_action_function_call_weight: view(8, false, (h, p, ...rest) =>
    functionCall(h, p, rest.slice(0, 6), rest[6]),
  ),
  promise_batch_action_transfer: view(2, false, (h, p, amountPtr) =>
    h.logic.actionTransfer(p, h.mem.readU128(amountPtr)),
  ),
  promise_batch_action_stake: view(4, false, (h, p, amountPtr, kLen, kPtr) =>
    h.logic.actionStake(p, h.mem.readU128(amountPtr), h.mem.bytes(kPtr, kLen)),
  ),
  promise_batch_action_add_key_with_full_access: view(4, false, (h, p, kLen, kPtr, nonce) =>
    h.logic.actionAddKey(p, h.mem.bytes(kPtr, kLen), { nonce, permission: "FullAccess" }),
  ),
  promise_batch_action_add_key_with_function_call: view(9, false, (h, p, kLen, kPtr, nonce, ...rest) => {
    const publicKey = h.mem.bytes(kPtr, kLen);
    h.logic.actionAddKey(p, publicKey, { nonce, permission: functionCallKey(h, rest) });
  }),
  promise_batch_action_delete_key: view(3, false, (h, p, kLen, kPtr) =>
    h.logic.actionDeleteKey(p, h.mem.bytes(kPtr, kLen)),
  ),
  promise_batch_action_delete_account: view(3, false, (h, p, len, ptr) =>
    h.logic.actionDeleteAccount(p, accountId(h, len, ptr)),
  ),
  promise_results_count: view(0, true, (h) => h.logic.promiseResultsCount()),
  promise_result: view(2, true, (h, index, r) => h.logic.promiseResult(index, r)),
  promise_return: view(1, false, (h, p) => h.logic.promiseReturn(p)),

  // Storage
  storage_write: view(5, true, (h, kLen, kPtr, vLen, vPtr, r) =>
    h.logic.storageWrite(h.mem.bytes(kPtr, kLen), h.mem.bytes(vPtr, vLen), r),
  ),
  storage_read: def(3, true, (h, kLen, kPtr, r) => h.logic.storageRead(h.mem.bytes(kPtr, kLen), r)),
  storage_remove: view(3, true, (h, kLen, kPtr, r) => h.logic.storageRemove(h.mem.bytes(kPtr, kLen), r)),
  storage_has_key: def(2, true, (h, kLen, kPtr) => h.logic.storageHasKey(h.mem.bytes(kPtr, kLen))),

  // Validators: a single-node chain has no stake to report.
  validator_stake: def(3, false, (h, len, ptr, stakePtr) => {
    accountId(h, len, ptr);
    h.logic.gas.burn(COST.validator_stake_base);
    h.mem.writeU128(stakePtr, 0n);
  }),
  validator_total_stake: def(1, false, (h, stakePtr) => {
    h.logic.gas.burn(COST.validator_stake_base);
    h.mem.writeU128(stakePtr, 0n);
  }),
};

/** nearcore's link check: every import must name a host function, with its exact signature. */
export function linkError(imports: { name: string; type: FuncType }[]): string | undefined {
  for (const { name, type } of imports) {
    const host = HOST_FUNCTIONS[name];
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((t, i) => t === b[i]);
    if (!host) return `Error while importing "env"."${name}": unknown import`;
    if (!same(host.type.params, type.params) || !same(host.type.results, type.results)) {
      return `Error while importing "env"."${name}": incompatible import type`;
    }
  }
  return undefined;
}
