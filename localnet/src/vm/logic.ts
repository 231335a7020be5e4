// The host side of one contract call: registers, storage overlay, promises, logs and gas, with
// nearcore's semantics and limits. Independent of the JS engine; env-bindings.ts marshals to QuickJS.
// One file over 350 lines on purpose: one class, as nearcore's VMLogic is, whose host functions all
// share the registers, the gas counter and the storage overlay; split, every part would need them.
import bs58 from "bs58";
import * as crypto from "./crypto.js";

const HASHES = {
  sha256: crypto.sha256,
  keccak256: crypto.keccak256,
  keccak512: crypto.keccak512,
  ripemd160: crypto.ripemd160,
};

import { guestPanic, HostError, prohibitedInView } from "./errors.js";
import { COST, GasCounter } from "./gas.js";
import type {
  AccessKey,
  Action,
  NewReceipt,
  ReturnData,
  StateChange,
  StorageReader,
  VMContext,
} from "./types.js";

const U64_MAX = (1n << 64n) - 1n;
/** nearcore's storage_num_extra_bytes_record: per-record overhead counted in storage_usage. */
export const STORAGE_RECORD_OVERHEAD = 40n;
const LIMITS = {
  maxRegisterSize: 100n * 1024n * 1024n,
  maxStorageKey: 2048,
  maxStorageValue: 4 * 1024 * 1024,
  maxLogs: 100,
  maxTotalLog: 16 * 1024,
  maxReturnedData: 4 * 1024 * 1024,
  maxPromises: 5000,
  maxContractSize: 4 * 1024 * 1024,
};

type PromiseEntry = { receiptIndex: number } | { joined: number[] };

const latin1 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf16Decoder = new TextDecoder("utf-16le", { fatal: true });
const utf8 = (s: string) => new TextEncoder().encode(s);

// nearcore's AccountId validation: 2..64 chars, lowercase alphanumerics separated by single - _ .
const ACCOUNT_ID = /^(([a-z\d]+[-_])*[a-z\d]+\.)*([a-z\d]+[-_])*[a-z\d]+$/;

export class VMLogic {
  readonly gas: GasCounter;
  readonly logs: string[] = [];
  readonly receipts: NewReceipt[] = [];
  readonly stateChanges: StateChange[] = [];
  returnData: ReturnData = { kind: "None" };
  balance: bigint;
  storageUsage: bigint;
  /** Sticky: once set the call fails, whatever the contract does afterwards. */
  fatal: HostError | undefined;

  private readonly registers = new Map<bigint, Uint8Array>();
  private readonly overlay = new Map<string, Uint8Array | null>();
  private readonly promises: PromiseEntry[] = [];
  private readonly weights: { action: Extract<Action, { type: "FunctionCall" }>; weight: bigint }[] = [];
  private totalLogBytes = 0;

  constructor(
    private readonly ctx: VMContext,
    private readonly storage: StorageReader,
  ) {
    this.gas = new GasCounter(ctx.prepaidGas);
    this.balance = ctx.accountBalance;
    this.storageUsage = ctx.storageUsage;
  }

  /** Records a fatal error (first one wins) and returns it for throwing. */
  fail(err: HostError): HostError {
    this.fatal ??= err;
    return this.fatal;
  }

  /** Every host function starts here: a failed call stays failed, and each call costs `base`. */
  enter(name: string, viewProhibited = false): void {
    if (this.fatal) throw this.fatal;
    if (viewProhibited && this.ctx.isView) throw prohibitedInView(name);
    this.gas.burn(COST.base);
  }

  // Registers
  registerLen(id: bigint): bigint {
    const reg = this.registers.get(id);
    return reg === undefined ? U64_MAX : BigInt(reg.length);
  }

  readRegister(id: bigint): Uint8Array {
    const reg = this.registers.get(id);
    if (reg === undefined) throw new HostError("InvalidRegisterId", { register_id: id });
    this.gas.burn(COST.read_register_base + COST.read_register_byte * BigInt(reg.length));
    return reg;
  }

  writeRegister(id: bigint, data: Uint8Array): void {
    if (BigInt(data.length) > LIMITS.maxRegisterSize) throw new HostError("MemoryAccessViolation");
    this.gas.burn(COST.write_register_base + COST.write_register_byte * BigInt(data.length));
    this.registers.set(id, data.slice());
  }

  // Context
  accountIdRegister(which: "current" | "signer" | "predecessor", id: bigint): void {
    const value =
      which === "current"
        ? this.ctx.currentAccountId
        : which === "signer"
          ? this.ctx.signerAccountId
          : this.ctx.predecessorAccountId;
    this.writeRegister(id, utf8(value));
  }

  signerAccountPk(id: bigint): void {
    this.writeRegister(id, this.ctx.signerAccountPk);
  }

  input(id: bigint): void {
    this.writeRegister(id, this.ctx.input);
  }

  randomSeed(id: bigint): void {
    this.writeRegister(id, this.ctx.randomSeed);
  }

  get context(): VMContext {
    return this.ctx;
  }

  // Logs and results
  log(message: string, bytes: number): void {
    this.gas.burn(COST.log_base + COST.log_byte * BigInt(bytes));
    if (this.logs.length >= LIMITS.maxLogs)
      throw new HostError("NumberOfLogsExceeded", { limit: LIMITS.maxLogs });
    this.totalLogBytes += bytes;
    if (this.totalLogBytes > LIMITS.maxTotalLog) {
      throw new HostError("TotalLogLengthExceeded", {
        length: this.totalLogBytes,
        limit: LIMITS.maxTotalLog,
      });
    }
    this.logs.push(message);
  }

  logUtf8(bytes: Uint8Array): void {
    this.gas.burn(COST.utf8_decoding_base + COST.utf8_decoding_byte * BigInt(bytes.length));
    this.log(decodeUtf8(bytes), bytes.length);
  }

  logUtf16(bytes: Uint8Array): void {
    this.log(this.decodeUtf16(bytes), bytes.length);
  }

  private decodeUtf16(bytes: Uint8Array): string {
    this.gas.burn(COST.utf16_decoding_base + COST.utf16_decoding_byte * BigInt(bytes.length));
    if (bytes.length % 2 !== 0) throw new HostError("BadUTF16");
    try {
      return utf16Decoder.decode(bytes);
    } catch {
      throw new HostError("BadUTF16");
    }
  }

  /** AssemblyScript's abort: logged as "ABORT: …", then a panic with the same text. */
  abort(message: Uint8Array, filename: Uint8Array, line: number, col: number): never {
    const text = `${this.decodeUtf16(message)}, filename: "${this.decodeUtf16(filename)}" line: ${line} col: ${col}`;
    this.log(`ABORT: ${text}`, Buffer.byteLength(text));
    throw guestPanic(text);
  }

  panicUtf8(bytes: Uint8Array): never {
    this.gas.burn(COST.utf8_decoding_base + COST.utf8_decoding_byte * BigInt(bytes.length));
    throw guestPanic(decodeUtf8(bytes));
  }

  panicUtf8Explicit(): never {
    throw guestPanic("explicit guest panic");
  }

  /** The bytes were read from guest memory by the caller, which charged for it. */
  valueReturn(value: Uint8Array): void {
    if (value.length > LIMITS.maxReturnedData) {
      throw new HostError("ReturnedValueLengthExceeded", {
        length: value.length,
        limit: LIMITS.maxReturnedData,
      });
    }
    this.returnData = { kind: "Value", data: value.slice() };
  }

  // Hashes
  hash(kind: "sha256" | "keccak256" | "keccak512" | "ripemd160", data: Uint8Array, register: bigint): void {
    const n = BigInt(data.length);
    if (kind === "ripemd160")
      this.gas.burn(COST.ripemd160_base + COST.ripemd160_block * ((n + 9n + 63n) / 64n));
    else this.gas.burn(COST[`${kind}_base`] + COST[`${kind}_byte`] * n);
    this.writeRegister(register, HASHES[kind](data));
  }

  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): bigint {
    this.gas.burn(COST.ed25519_verify_base + COST.ed25519_verify_byte * BigInt(message.length));
    if (signature.length !== 64)
      throw new HostError("Ed25519VerifyInvalidInput", { msg: "invalid signature length" });
    if (publicKey.length !== 32)
      throw new HostError("Ed25519VerifyInvalidInput", { msg: "invalid public key length" });
    return crypto.ed25519Verify(signature, message, publicKey) ? 1n : 0n;
  }

  ecrecover(hash: Uint8Array, sig: Uint8Array, v: bigint, flag: bigint, register: bigint): bigint {
    this.gas.burn(COST.ecrecover_base);
    const key = crypto.ecrecover(hash, sig, v, flag);
    if (!key) return 0n;
    this.writeRegister(register, key);
    return 1n;
  }

  altBn128G1Multiexp(data: Uint8Array, register: bigint): void {
    this.gas.burn(
      COST.alt_bn128_g1_multiexp_base +
        COST.alt_bn128_g1_multiexp_element * BigInt(Math.floor(data.length / 96)),
    );
    this.writeRegister(register, crypto.altBn128G1Multiexp(data).result);
  }

  altBn128G1Sum(data: Uint8Array, register: bigint): void {
    this.gas.burn(
      COST.alt_bn128_g1_sum_base + COST.alt_bn128_g1_sum_element * BigInt(Math.floor(data.length / 65)),
    );
    this.writeRegister(register, crypto.altBn128G1Sum(data).result);
  }

  altBn128PairingCheck(data: Uint8Array): bigint {
    this.gas.burn(
      COST.alt_bn128_pairing_check_base +
        COST.alt_bn128_pairing_check_element * BigInt(Math.floor(data.length / 192)),
    );
    return crypto.altBn128PairingCheck(data).ok ? 1n : 0n;
  }

  // Storage: reads see this call's own writes; changes are recorded in order for the chain.
  private current(key: Uint8Array): Uint8Array | undefined {
    const k = latin1(key);
    if (this.overlay.has(k)) return this.overlay.get(k) ?? undefined;
    return this.storage.get(key);
  }

  private checkKey(key: Uint8Array): void {
    if (key.length > LIMITS.maxStorageKey)
      throw new HostError("KeyLengthExceeded", { length: key.length, limit: LIMITS.maxStorageKey });
  }

  storageWrite(key: Uint8Array, value: Uint8Array, register: bigint): bigint {
    this.checkKey(key);
    if (value.length > LIMITS.maxStorageValue) {
      throw new HostError("ValueLengthExceeded", { length: value.length, limit: LIMITS.maxStorageValue });
    }
    this.gas.burn(
      COST.storage_write_base +
        COST.storage_write_key_byte * BigInt(key.length) +
        COST.storage_write_value_byte * BigInt(value.length),
    );
    const old = this.current(key);
    const stored = value.slice();
    this.overlay.set(latin1(key), stored);
    this.stateChanges.push({ key: key.slice(), value: stored });
    if (old === undefined) {
      this.storageUsage += BigInt(key.length + value.length) + STORAGE_RECORD_OVERHEAD;
      return 0n;
    }
    this.storageUsage += BigInt(value.length) - BigInt(old.length);
    this.gas.burn(COST.storage_write_evicted_byte * BigInt(old.length));
    this.writeRegister(register, old);
    return 1n;
  }

  storageRead(key: Uint8Array, register: bigint): bigint {
    this.checkKey(key);
    this.gas.burn(COST.storage_read_base + COST.storage_read_key_byte * BigInt(key.length));
    const value = this.current(key);
    if (value === undefined) return 0n;
    this.gas.burn(COST.storage_read_value_byte * BigInt(value.length));
    this.writeRegister(register, value);
    return 1n;
  }

  storageRemove(key: Uint8Array, register: bigint): bigint {
    this.checkKey(key);
    this.gas.burn(COST.storage_remove_base + COST.storage_remove_key_byte * BigInt(key.length));
    const old = this.current(key);
    if (old === undefined) return 0n;
    this.gas.burn(COST.storage_remove_ret_value_byte * BigInt(old.length));
    this.overlay.set(latin1(key), null);
    this.stateChanges.push({ key: key.slice(), value: null });
    this.storageUsage -= BigInt(key.length + old.length) + STORAGE_RECORD_OVERHEAD;
    this.writeRegister(register, old);
    return 1n;
  }

  storageHasKey(key: Uint8Array): bigint {
    this.checkKey(key);
    this.gas.burn(COST.storage_has_key_base + COST.storage_has_key_byte * BigInt(key.length));
    return this.current(key) === undefined ? 0n : 1n;
  }

  // Promises
  private promise(index: bigint): PromiseEntry {
    const p = index < BigInt(this.promises.length) ? this.promises[Number(index)] : undefined;
    if (!p) throw new HostError("InvalidPromiseIndex", { promise_idx: index });
    return p;
  }

  private receiptOf(index: bigint): NewReceipt {
    const p = this.promise(index);
    if (!("receiptIndex" in p)) throw new HostError("CannotAppendActionToJointPromise");
    return this.receipts[p.receiptIndex] as NewReceipt;
  }

  private newPromise(entry: PromiseEntry): bigint {
    if (this.promises.length >= LIMITS.maxPromises) {
      throw new HostError("NumberPromisesExceeded", {
        number_of_promises: this.promises.length + 1,
        limit: LIMITS.maxPromises,
      });
    }
    this.promises.push(entry);
    return BigInt(this.promises.length - 1);
  }

  private newReceipt(receiverId: string, dependsOn: number[]): bigint {
    if (receiverId.length < 2 || receiverId.length > 64 || !ACCOUNT_ID.test(receiverId))
      throw new HostError("InvalidAccountId");
    this.gas.burn(COST.action_receipt_creation + COST.data_receipt_creation_base * BigInt(dependsOn.length));
    this.receipts.push({ receiverId, actions: [], dependsOn });
    return this.newPromise({ receiptIndex: this.receipts.length - 1 });
  }

  promiseBatchCreate(accountId: string): bigint {
    return this.newReceipt(accountId, []);
  }

  promiseBatchThen(index: bigint, accountId: string): bigint {
    const p = this.promise(index);
    return this.newReceipt(accountId, "receiptIndex" in p ? [p.receiptIndex] : [...p.joined]);
  }

  promiseAnd(indices: bigint[]): bigint {
    this.gas.burn(COST.promise_and_base + COST.promise_and_per_promise * BigInt(indices.length));
    const joined: number[] = [];
    for (const i of indices) {
      const p = this.promise(i);
      if ("receiptIndex" in p) joined.push(p.receiptIndex);
      else joined.push(...p.joined);
    }
    return this.newPromise({ joined });
  }

  private deduct(amount: bigint): void {
    if (amount > this.balance) throw new HostError("BalanceExceeded");
    this.balance -= amount;
  }

  actionCreateAccount(index: bigint): void {
    const receipt = this.receiptOf(index);
    this.gas.burn(COST.create_account);
    receipt.actions.push({ type: "CreateAccount" });
  }

  actionDeployContract(index: bigint, code: Uint8Array): void {
    const receipt = this.receiptOf(index);
    if (code.length > LIMITS.maxContractSize) {
      throw new HostError("ContractSizeExceeded", { size: code.length, limit: LIMITS.maxContractSize });
    }
    this.gas.burn(COST.deploy_contract_base + COST.deploy_contract_byte * BigInt(code.length));
    receipt.actions.push({ type: "DeployContract", code: code.slice() });
  }

  actionFunctionCall(
    index: bigint,
    methodName: string,
    args: Uint8Array,
    amount: bigint,
    gas: bigint,
    weight = 0n,
  ): void {
    const receipt = this.receiptOf(index);
    if (methodName.length === 0) throw new HostError("EmptyMethodName");
    this.gas.burn(
      COST.function_call_base + COST.function_call_byte * BigInt(methodName.length + args.length),
    );
    this.deduct(amount);
    this.gas.prepay(gas);
    const action: Extract<Action, { type: "FunctionCall" }> = {
      type: "FunctionCall",
      methodName,
      args: args.slice(),
      gas,
      deposit: amount,
    };
    receipt.actions.push(action);
    if (weight > 0n) this.weights.push({ action, weight });
  }

  actionTransfer(index: bigint, amount: bigint): void {
    const receipt = this.receiptOf(index);
    this.gas.burn(COST.transfer);
    this.deduct(amount);
    receipt.actions.push({ type: "Transfer", deposit: amount });
  }

  actionStake(index: bigint, amount: bigint, publicKey: Uint8Array): void {
    const receipt = this.receiptOf(index);
    this.gas.burn(COST.stake);
    receipt.actions.push({ type: "Stake", stake: amount, publicKey: publicKeyToString(publicKey) });
  }

  actionAddKey(index: bigint, publicKey: Uint8Array, accessKey: AccessKey): void {
    const receipt = this.receiptOf(index);
    this.gas.burn(COST.add_key);
    receipt.actions.push({ type: "AddKey", publicKey: publicKeyToString(publicKey), accessKey });
  }

  actionDeleteKey(index: bigint, publicKey: Uint8Array): void {
    const receipt = this.receiptOf(index);
    this.gas.burn(COST.delete_key);
    receipt.actions.push({ type: "DeleteKey", publicKey: publicKeyToString(publicKey) });
  }

  actionDeleteAccount(index: bigint, beneficiaryId: string): void {
    const receipt = this.receiptOf(index);
    if (!ACCOUNT_ID.test(beneficiaryId)) throw new HostError("InvalidAccountId");
    this.gas.burn(COST.delete_account);
    receipt.actions.push({ type: "DeleteAccount", beneficiaryId });
  }

  promiseResultsCount(): bigint {
    return BigInt(this.ctx.promiseResults.length);
  }

  promiseResult(index: bigint, register: bigint): bigint {
    const result =
      index < BigInt(this.ctx.promiseResults.length) ? this.ctx.promiseResults[Number(index)] : undefined;
    if (!result) throw new HostError("InvalidPromiseResultIndex", { result_idx: index });
    if (result.status === "NotReady") return 0n;
    if (result.status === "Failed") return 2n;
    this.writeRegister(register, result.data);
    return 1n;
  }

  promiseReturn(index: bigint): void {
    this.gas.burn(COST.promise_return);
    const p = this.promise(index);
    if (!("receiptIndex" in p)) throw new HostError("CannotReturnJointPromise");
    this.returnData = { kind: "ReceiptIndex", index: p.receiptIndex };
  }

  /** Like nearcore, gas left at the end is shared among function calls attached with a weight. */
  distributeWeightedGas(): void {
    const total = this.weights.reduce((sum, w) => sum + w.weight, 0n);
    const remaining = this.gas.remaining();
    if (total === 0n || remaining <= 0n) return;
    let given = 0n;
    this.weights.forEach((w, i) => {
      const share = i === this.weights.length - 1 ? remaining - given : (remaining * w.weight) / total;
      w.action.gas += share;
      given += share;
    });
    this.gas.prepay(given);
  }
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new HostError("BadUTF8");
  }
}

/** Borsh PublicKey (key type byte, then 32 ed25519 or 64 secp256k1 bytes) to NEAR's string form. */
function publicKeyToString(bytes: Uint8Array): string {
  if (bytes[0] === 0 && bytes.length === 33) return `ed25519:${bs58.encode(bytes.subarray(1))}`;
  if (bytes[0] === 1 && bytes.length === 65) return `secp256k1:${bs58.encode(bytes.subarray(1))}`;
  throw new HostError("InvalidPublicKey");
}

export { U64_MAX };
