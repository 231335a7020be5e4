// The two halves of running a near-sdk-js call in a QuickJS context: preparing the context (prelude,
// `env`, module evaluation) and invoking one exported method. The fresh-context path does both per
// call; the snapshot path (snapshot.ts) does the first once and restores its memory before each call.
import type { QuickJSContext, QuickJSHandle } from "quickjs-emscripten";
import type { CallSlot } from "./call-slot.js";
import { GuestStrings, installEnv, newPreludeHostFunctions } from "./env-bindings.js";
import { HostError, hostFailure, methodNotFound, type VmFailure } from "./errors.js";
import type { VMLogic } from "./logic.js";
import { PRELUDE_SOURCE } from "./prelude.js";
import { strncpy, toCString } from "./quickjs-strings.js";

export type Loaded = { helpers: QuickJSHandle } & (
  | { exports: QuickJSHandle; error?: undefined }
  | { error: QuickJSHandle }
);

/**
 * Installs the prelude and `env`, then evaluates the contract module. The caller owns the returned
 * handles: `helpers` (the prelude's helpers `env` uses, alive as long as `env` may be called) and
 * the exports or error (see fatalOrPanic: builder.c reports a throwing module like a throwing method).
 */
export function loadContract(vm: QuickJSContext, slot: CallSlot, source: string): Loaded {
  const setup = vm.unwrapResult(vm.evalCode(PRELUDE_SOURCE, "prelude.js"));
  const [nowFn, seedFn] = newPreludeHostFunctions(vm, slot);
  const helpers = vm.unwrapResult(vm.callFunction(setup, vm.undefined, nowFn, seedFn));
  setup.dispose();
  nowFn.dispose();
  seedFn.dispose();
  try {
    installEnv(vm, slot, helpers);
  } catch (e) {
    helpers.dispose();
    throw e;
  }
  const loaded = vm.evalCode(source, "contract.js", { type: "module" });
  return loaded.error ? { helpers, error: loaded.error } : { helpers, exports: loaded.value };
}

/**
 * Calls `methodName` on the module's exports and runs pending jobs (builder.c runs js_std_loop after
 * the method). Returns a failure, or undefined when the call succeeded. Disposes only handles it
 * created itself: `exports` may belong to a snapshot.
 */
export function invokeMethod(
  vm: QuickJSContext,
  module: { exports: QuickJSHandle; helpers: QuickJSHandle },
  logic: VMLogic,
  slot: CallSlot,
  methodName: string,
): VmFailure | undefined {
  const { exports } = module;
  let method: QuickJSHandle | undefined;
  try {
    method = vm.getProp(exports, methodName);
    if (vm.typeof(method) !== "function") return methodNotFound();
    const result = vm.callFunction(method, exports);
    if (result.error) {
      const failure = fatalOrPanic(vm, logic, result.error, module.helpers);
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
export function fatalOrPanic(
  vm: QuickJSContext,
  logic: VMLogic,
  error: QuickJSHandle,
  helpers: QuickJSHandle,
): VmFailure {
  if (logic.fatal) return hostFailure(logic.fatal);
  try {
    return logic.panicUtf8(errorBytes(vm, error, helpers));
  } catch (e) {
    if (e instanceof HostError) return hostFailure(logic.fail(e));
    throw e;
  }
}

/**
 * builder.c's panic message: JS_ToCStringLen of `message` and of `stack`, each copied with strncpy
 * (so a NUL zeroes the rest of its part), joined by a newline.
 */
function errorBytes(vm: QuickJSContext, error: QuickJSHandle, helpers: QuickJSHandle): Uint8Array {
  const strings = new GuestStrings(vm, helpers);
  const part = (name: string): Uint8Array => {
    const value = vm.getProp(error, name);
    try {
      return strncpy(toCString(strings.read(value)));
    } catch (e) {
      if (e instanceof HostError) throw e;
      return new Uint8Array(0); // JS_ToCStringLen failed: builder.c copies nothing
    } finally {
      value.dispose();
    }
  };
  const message = part("message");
  const stack = part("stack");
  const bytes = new Uint8Array(message.length + 1 + stack.length);
  bytes.set(message);
  bytes[message.length] = 0x0a;
  bytes.set(stack, message.length + 1);
  return bytes;
}
