// localnet's contract runtime: runs near-sdk-js JS bundles in QuickJS, one fresh context per call.
import {
  newQuickJSWASMModule,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  RELEASE_SYNC,
} from "quickjs-emscripten";
import { installEnv } from "./env-bindings.js";
import {
  codeDoesNotExist,
  compileFailure,
  guestPanic,
  HostError,
  hostFailure,
  methodEmptyName,
  methodNotFound,
  type VmFailure,
} from "./errors.js";
import { GAS_PER_INTERRUPT_TICK, LOAD_BASE, LOAD_PER_CODE_BYTE } from "./gas.js";
import { VMLogic } from "./logic.js";
import { preludeSource, seedWords } from "./prelude.js";
import type { ContractRuntime, RunRequest, VMOutcome } from "./types.js";

export { STORAGE_RECORD_OVERHEAD } from "./logic.js";
export type * from "./types.js";

// Loaded once per process; top-level await keeps ContractRuntime.run synchronous.
const quickjs = await newQuickJSWASMModule(RELEASE_SYNC);

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];
const MEMORY_LIMIT = 512 * 1024 * 1024;
const STACK_LIMIT = 1024 * 1024;
/** A QuickJS runtime is reused across calls (contexts are not) and replaced now and then to drop garbage. */
const CALLS_PER_RUNTIME = 2000;

class InternalVmError extends HostError {
  constructor(cause: unknown) {
    super("GuestPanic", {
      panic_msg: `localnet VM internal error: ${cause instanceof Error ? cause.message : String(cause)}`,
    });
  }
}

export function createContractRuntime(): ContractRuntime {
  let runtime: QuickJSRuntime | undefined;
  let calls = 0;
  const sources = new Map<string, string>();

  const getRuntime = (): QuickJSRuntime => {
    if (runtime && calls++ < CALLS_PER_RUNTIME) return runtime;
    try {
      runtime?.dispose();
    } catch {
      // A leak report from QuickJS must not take the node down.
    }
    runtime = quickjs.newRuntime({ memoryLimitBytes: MEMORY_LIMIT, maxStackSizeBytes: STACK_LIMIT });
    calls = 0;
    return runtime;
  };

  const sourceOf = (req: RunRequest): string => {
    let src = sources.get(req.codeHash);
    if (src === undefined) {
      src = new TextDecoder().decode(req.code);
      if (sources.size > 64) sources.clear();
      sources.set(req.codeHash, src);
    }
    return src;
  };

  return {
    run(req: RunRequest): VMOutcome {
      const logic = new VMLogic(req.context, req.storage);
      const early = precheck(req);
      if (early) return outcome(logic, early);
      try {
        logic.gas.burn(LOAD_BASE + LOAD_PER_CODE_BYTE * BigInt(req.code.length));
      } catch (e) {
        return outcome(logic, hostFailure(e as HostError));
      }
      const rt = getRuntime();
      rt.setInterruptHandler(() => {
        if (logic.fatal) return true;
        try {
          logic.gas.burn(GAS_PER_INTERRUPT_TICK);
        } catch (e) {
          logic.fail(e as HostError);
        }
        return logic.fatal !== undefined;
      });
      const vm = rt.newContext();
      try {
        return outcome(logic, execute(vm, logic, req, sourceOf(req)));
      } catch (e) {
        return outcome(logic, hostFailure(e instanceof HostError ? e : new InternalVmError(e)));
      } finally {
        vm.dispose();
        rt.removeInterruptHandler();
      }
    },
  };
}

function precheck(req: RunRequest): VmFailure | undefined {
  if (req.code.length === 0) return codeDoesNotExist(req.context.currentAccountId);
  if (WASM_MAGIC.every((b, i) => req.code[i] === b)) {
    return compileFailure("localnet runs near-sdk-js JS bundles only; WASM contracts are not supported yet");
  }
  if (req.methodName.length === 0) return methodEmptyName();
  return undefined;
}

/** Runs one method in a fresh context; returns a failure, or undefined when the call succeeded. */
function execute(vm: QuickJSContext, logic: VMLogic, req: RunRequest, source: string): VmFailure | undefined {
  let internal: unknown;
  const prelude = vm.evalCode(
    preludeSource(Number(req.context.blockTimestamp / 1_000_000n), seedWords(req.context.randomSeed)),
    "prelude.js",
  );
  const newUint8Array = vm.unwrapResult(prelude);
  let exports: QuickJSHandle | undefined;
  let method: QuickJSHandle | undefined;
  try {
    installEnv(vm, logic, newUint8Array, (e) => {
      internal ??= e;
      logic.fail(new InternalVmError(e));
    });
    const loaded = vm.evalCode(source, "contract.js", { type: "module" });
    if (loaded.error) {
      const failure = fatalOrPanic(vm, logic, loaded.error);
      loaded.error.dispose();
      // A module that does not even evaluate is a compilation problem unless the host stopped it.
      if (logic.fatal) return failure;
      return compileFailure(
        failure
          ? String((failure.functionCallError as { ExecutionError?: string }).ExecutionError)
          : "module evaluation failed",
      );
    }
    exports = loaded.value;
    method = vm.getProp(exports, req.methodName);
    if (vm.typeof(method) !== "function") return methodNotFound();
    const result = vm.callFunction(method, exports);
    if (result.error) {
      const failure = fatalOrPanic(vm, logic, result.error);
      result.error.dispose();
      return failure;
    }
    result.value.dispose();
    // builder.c runs js_std_loop after the method: pending promise jobs execute too.
    const jobs = vm.runtime.executePendingJobs();
    if (jobs.error) jobs.error.dispose();
    if (logic.fatal) return hostFailure(logic.fatal);
    logic.distributeWeightedGas();
    return undefined;
  } catch (e) {
    if (e instanceof HostError) return hostFailure(logic.fail(e));
    throw internal ?? e;
  } finally {
    method?.dispose();
    exports?.dispose();
    newUint8Array.dispose();
  }
}

/**
 * A host error stays fatal even when the contract caught it; otherwise an uncaught exception becomes
 * panic_utf8(message + "\n" + stack) exactly as builder.c does.
 */
function fatalOrPanic(vm: QuickJSContext, logic: VMLogic, error: QuickJSHandle): VmFailure {
  if (logic.fatal) return hostFailure(logic.fatal);
  const message = vm.getProp(error, "message");
  const stack = vm.getProp(error, "stack");
  const text = `${vm.getString(message)}\n${vm.getString(stack)}`;
  message.dispose();
  stack.dispose();
  return hostFailure(logic.fail(guestPanic(text)));
}

function outcome(logic: VMLogic, failure: VmFailure | undefined): VMOutcome {
  const base = {
    logs: logic.logs,
    gasBurnt: logic.gas.burnt,
    gasUsed: logic.gas.used,
  };
  if (failure) {
    // nearcore drops everything a failed call produced except logs and gas.
    return {
      ...base,
      returnData: { kind: "None" },
      balance: logic.context.accountBalance,
      storageUsage: logic.context.storageUsage,
      receipts: [],
      stateChanges: [],
      error: failure,
    };
  }
  return {
    ...base,
    returnData: logic.returnData,
    balance: logic.balance,
    storageUsage: logic.storageUsage,
    receipts: logic.receipts,
    stateChanges: logic.stateChanges,
  };
}
