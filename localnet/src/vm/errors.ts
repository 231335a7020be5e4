// nearcore's VM errors, kept structured so the runtime can render both forms nearcore shows:
// the on-chain ActionError JSON (host errors become `ExecutionError: <Display>`) and the Debug string
// a view call reports as "wasm execution failed with error: <Debug>".
import type { FunctionCallErrorJson } from "./types.js";

type HostErrorData = Record<string, string | number | bigint>;

/** A nearcore HostError; unit variants have no data. Thrown by host functions, fatal for the call. */
export class HostError extends Error {
  constructor(
    readonly kind: string,
    readonly data?: HostErrorData,
  ) {
    super(hostErrorDisplay(kind, data));
  }
}

export const guestPanic = (panicMsg: string) => new HostError("GuestPanic", { panic_msg: panicMsg });
export const prohibitedInView = (methodName: string) =>
  new HostError("ProhibitedInView", { method_name: methodName });

function hostErrorDisplay(kind: string, d: HostErrorData = {}): string {
  switch (kind) {
    case "GuestPanic":
      return `Smart contract panicked: ${d.panic_msg}`;
    case "GasExceeded":
      return "Exceeded the prepaid gas.";
    case "GasLimitExceeded":
      return "Exceeded the maximum amount of gas allowed to burn per contract.";
    case "BalanceExceeded":
      return "Exceeded the account balance.";
    case "ProhibitedInView":
      return `${d.method_name} is not allowed in view calls`;
    case "InvalidPromiseIndex":
      return `${d.promise_idx} does not correspond to existing promises`;
    case "InvalidPromiseResultIndex":
      return `Accessed invalid promise result index: ${d.result_idx}`;
    case "InvalidRegisterId":
      return `Accessed invalid register id: ${d.register_id}`;
    case "CannotAppendActionToJointPromise":
      return "Actions can only be appended to non-joint promise.";
    case "CannotReturnJointPromise":
      return "Returning joint promise is currently prohibited.";
    case "InvalidAccountId":
      return "VM Logic returned an invalid account id";
    case "InvalidMethodName":
      return "VM Logic returned an invalid method name";
    case "InvalidPublicKey":
      return "VM Logic provided an invalid public key";
    case "BadUTF8":
      return "String encoding is bad UTF-8 sequence.";
    case "BadUTF16":
      return "String encoding is bad UTF-16 sequence.";
    case "KeyLengthExceeded":
      return `The length of a storage key ${d.length} exceeds the limit ${d.limit}.`;
    case "ValueLengthExceeded":
      return `The length of a storage value ${d.length} exceeds the limit ${d.limit}.`;
    case "NumberOfLogsExceeded":
      return `The number of logs will exceed the limit ${d.limit}`;
    case "TotalLogLengthExceeded":
      return `The length of a log message ${d.length} exceeds the limit ${d.limit}.`;
    case "ReturnedValueLengthExceeded":
      return `The length of a returned value ${d.length} exceeds the limit ${d.limit}`;
    case "NumberPromisesExceeded":
      return `The number of promises within a FunctionCall ${d.number_of_promises} exceeds the limit ${d.limit}`;
    case "ECRecoverError":
      return `ECDSA recover error: ${d.msg}`;
    case "MemoryAccessViolation":
      return "Accessed memory outside the bounds.";
    case "EmptyMethodName":
      return "Tried to call an empty method name.";
    case "ContractSizeExceeded":
      return `The size of a contract code in DeployContract action ${d.size} exceeds the limit ${d.limit}`;
    case "Ed25519VerifyInvalidInput":
      return `ED25519 signature verification error: ${d.msg}`;
    case "AltBn128InvalidInput":
      return `AltBn128 invalid input: ${d.msg}`;
    default:
      return kind;
  }
}

/** Rust's `{:?}` of a HostError, e.g. `GuestPanic { panic_msg: "boom" }`. */
function hostErrorDebug(err: HostError): string {
  if (!err.data) return err.kind;
  const fields = Object.entries(err.data).map(
    ([k, v]) => `${k}: ${typeof v === "string" ? JSON.stringify(v) : String(v)}`,
  );
  return `${err.kind} { ${fields.join(", ")} }`;
}

/** What the runtime reports for a failed call; matches VMOutcome.error. */
export interface VmFailure {
  functionCallError: FunctionCallErrorJson;
  message: string;
}

export function hostFailure(err: HostError): VmFailure {
  return { functionCallError: { ExecutionError: err.message }, message: `HostError(${hostErrorDebug(err)})` };
}

export const methodNotFound = (): VmFailure => ({
  functionCallError: { MethodResolveError: "MethodNotFound" },
  message: "MethodResolveError(MethodNotFound)",
});

export const methodEmptyName = (): VmFailure => ({
  functionCallError: { MethodResolveError: "MethodEmptyName" },
  message: "MethodResolveError(MethodEmptyName)",
});

export const codeDoesNotExist = (accountId: string): VmFailure => ({
  functionCallError: { CompilationError: { CodeDoesNotExist: { account_id: accountId } } },
  message: `CompilationError(CodeDoesNotExist { account_id: ${JSON.stringify(accountId)} })`,
});

export const compileFailure = (msg: string): VmFailure => ({
  functionCallError: { CompilationError: { WasmerCompileError: { msg } } },
  message: `CompilationError(WasmerCompileError { msg: ${JSON.stringify(msg)} })`,
});

export const methodInvalidSignature = (): VmFailure => ({
  functionCallError: { MethodResolveError: "MethodInvalidSignature" },
  message: "MethodResolveError(MethodInvalidSignature)",
});

/** nearcore's PrepareError kinds (contract preparation, see wasm/prepare.ts). */
export const prepareFailure = (kind: string): VmFailure => ({
  functionCallError: { CompilationError: { PrepareError: kind } },
  message: `CompilationError(PrepareError(${kind}))`,
});

export const linkFailure = (msg: string): VmFailure => ({
  functionCallError: { LinkError: { msg } },
  message: `LinkError { msg: ${JSON.stringify(msg)} }`,
});

const WASM_TRAPS = {
  Unreachable: "An `unreachable` opcode was executed.",
  IncorrectCallIndirectSignature: "Call indirect incorrect signature trap.",
  MemoryOutOfBounds: "Memory out of bounds trap.",
  CallIndirectOOB: "Call indirect out of bounds trap.",
  IllegalArithmetic: "An arithmetic exception, e.g. divided by zero.",
  IndirectCallToNull: "Indirect call to null.",
  StackOverflow: "Stack overflow.",
  GenericTrap: "Generic trap.",
} as const;

export type WasmTrapKind = keyof typeof WASM_TRAPS;

/** Like host errors, traps reach the outcome as `ExecutionError: <Display>`. */
export const wasmTrap = (kind: WasmTrapKind): VmFailure => ({
  functionCallError: { ExecutionError: `WebAssembly trap: ${WASM_TRAPS[kind]}` },
  message: `WasmTrap(${kind})`,
});

/** A bug on localnet's side (not the contract's): reported as a panic so the chain keeps going. */
export class InternalVmError extends HostError {
  constructor(cause: unknown) {
    super("GuestPanic", {
      panic_msg: `localnet VM internal error: ${cause instanceof Error ? cause.message : String(cause)}`,
    });
  }
}
