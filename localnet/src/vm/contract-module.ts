// The two halves of running a near-sdk-js call in a QuickJS context: preparing the context (prelude,
// `env`, module evaluation) and invoking one exported method. The fresh-context path does both per
// call; the snapshot path (snapshot.ts) does the first once and restores its memory before each call.
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten";
import type { CallSlot } from "./call-slot.js";
import { installEnv, newPreludeHostFunctions } from "./env-bindings.js";
import { guestPanic, HostError, hostFailure, methodNotFound, type VmFailure } from "./errors.js";
import type { VMLogic } from "./logic.js";
import { PRELUDE_SOURCE } from "./prelude.js";

export type Loaded = { factory: QuickJSHandle } & (
  | { exports: QuickJSHandle; error?: undefined }
  | { error: QuickJSHandle }
);

/**
 * Installs the prelude and `env`, then evaluates the contract module. The caller owns the returned
 * handles: `factory` (the Uint8Array factory `env` uses, alive as long as `env` may be called) and
 * the exports or error (see fatalOrPanic: builder.c reports a throwing module like a throwing method).
 */
export function loadContract(vm: QuickJSContext, slot: CallSlot, source: string): Loaded {
  const setup = vm.unwrapResult(vm.evalCode(PRELUDE_SOURCE, "prelude.js"));
  const [nowFn, seedFn] = newPreludeHostFunctions(vm, slot);
  const newUint8Array = vm.unwrapResult(vm.callFunction(setup, vm.undefined, nowFn, seedFn));
  setup.dispose();
  nowFn.dispose();
  seedFn.dispose();
  try {
    installEnv(vm, slot, newUint8Array);
  } catch (e) {
    newUint8Array.dispose();
    throw e;
  }
  const loaded = vm.evalCode(source, "contract.js", { type: "module" });
  return loaded.error
    ? { factory: newUint8Array, error: loaded.error }
    : { factory: newUint8Array, exports: loaded.value };
}

/**
 * Calls `methodName` on the module's exports and runs pending jobs (builder.c runs js_std_loop after
 * the method). Returns a failure, or undefined when the call succeeded. Disposes only handles it
 * created itself: `exports` may belong to a snapshot.
 */
export function invokeMethod(
  vm: QuickJSContext,
  exports: QuickJSHandle,
  logic: VMLogic,
  slot: CallSlot,
  methodName: string,
): VmFailure | undefined {
  let method: QuickJSHandle | undefined;
  try {
    method = vm.getProp(exports, methodName);
    if (vm.typeof(method) !== "function") return methodNotFound();
    const result = vm.callFunction(method, exports);
    if (result.error) {
      const failure = fatalOrPanic(vm, logic, result.error);
      result.error.dispose();
      return failure;
    }
    result.value.dispose();
    const jobs = vm.runtime.executePendingJobs();
    if (jobs.error) jobs.error.dispose();
    if (logic.fatal) return hostFailure(logic.fatal);
    logic.distributeWeightedGas();
    return undefined;
  } catch (e) {
    if (e instanceof HostError) return hostFailure(logic.fail(e));
    throw slot.internal ?? e;
  } finally {
    method?.dispose();
  }
}

/**
 * A host error stays fatal even when the contract caught it; otherwise an uncaught exception becomes
 * panic_utf8(message + "\n" + stack) exactly as builder.c does.
 */
export function fatalOrPanic(vm: QuickJSContext, logic: VMLogic, error: QuickJSHandle): VmFailure {
  if (logic.fatal) return hostFailure(logic.fatal);
  return hostFailure(logic.fail(guestPanic(errorText(vm, error))));
}

function errorText(vm: QuickJSContext, error: QuickJSHandle): string {
  const message = vm.getProp(error, "message");
  const stack = vm.getProp(error, "stack");
  const text = `${vm.getString(message)}\n${vm.getString(stack)}`;
  message.dispose();
  stack.dispose();
  return text;
}
