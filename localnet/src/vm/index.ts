// localnet's contract runtime. WASM contracts (what a chain runs) go to wasm/runtime.ts; near-sdk-js
// JS bundles (localnet's fast mode) run in QuickJS, one fresh realm per call — restored from a
// per-contract memory snapshot (snapshot.ts) or, as a fallback, a fresh context.
import {
  newQuickJSWASMModule,
  type QuickJSContext,
  type QuickJSRuntime,
  RELEASE_SYNC,
} from "quickjs-emscripten";
import { CallSlot } from "./call-slot.js";
import { fatalOrPanic, invokeMethod, loadContract } from "./contract-module.js";
import {
  codeDoesNotExist,
  HostError,
  hostFailure,
  InternalVmError,
  methodEmptyName,
  type VmFailure,
} from "./errors.js";
import { GAS_PER_INTERRUPT_TICK, LOAD_BASE, LOAD_PER_CODE_BYTE } from "./gas.js";
import { VMLogic } from "./logic.js";
import { outcome } from "./outcome.js";
import { SnapshotEngine } from "./snapshot.js";
import type { ContractRuntime, RunRequest, VMOutcome } from "./types.js";
import { isWasm } from "./wasm/binary.js";
import { WasmRuntime } from "./wasm/runtime.js";

export { STORAGE_RECORD_OVERHEAD } from "./logic.js";
export type * from "./types.js";

const MEMORY_LIMIT = 512 * 1024 * 1024;
const STACK_LIMIT = 1024 * 1024;
const LIMITS = { memoryLimitBytes: MEMORY_LIMIT, maxStackSizeBytes: STACK_LIMIT };
/** A QuickJS runtime is reused across calls (contexts are not) and replaced now and then to drop garbage. */
const CALLS_PER_RUNTIME = 2000;

// Loaded once per process; top-level await keeps ContractRuntime.run synchronous. The snapshot
// engine needs its own WASM instance, which can only be created asynchronously.
const quickjs = await newQuickJSWASMModule(RELEASE_SYNC);
const firstEngine =
  process.env.LOCALNET_VM_SNAPSHOTS === "0" ? undefined : await SnapshotEngine.create(LIMITS);
let firstEngineTaken = false;

/**
 * What the runtime did, counted: lets tests see that the module cache works without timing calls
 * (speed itself is measured in bench/vm.bench.ts).
 */
export interface RuntimeStats {
  /** JS calls served from a contract's snapshot (its module not evaluated again). */
  snapshotCalls: number;
  /** JS calls that evaluated the module in a fresh context. */
  freshCalls: number;
  /** Module evaluations: one per fresh call, one per snapshot built. */
  modulesEvaluated: number;
}

export interface RuntimeOptions {
  /** Use the snapshot fast path (snapshot.ts). Default true; LOCALNET_VM_SNAPSHOTS=0 turns it off. */
  snapshots?: boolean;
}

export function createContractRuntime(): ContractRuntime & { readonly stats: RuntimeStats } {
  return createContractRuntimeWithOptions({});
}

/** createContractRuntime with knobs for tests and benchmarks. */
export function createContractRuntimeWithOptions(
  options: RuntimeOptions,
): ContractRuntime & { readonly stats: RuntimeStats } {
  const wasm = new WasmRuntime();
  const stats: RuntimeStats = { snapshotCalls: 0, freshCalls: 0, modulesEvaluated: 0 };
  let runtime: QuickJSRuntime | undefined;
  let calls = 0;
  const sources = new Map<string, string>();
  // Each ContractRuntime owns its engine; the first one takes the instance made at start-up.
  let engine: SnapshotEngine | undefined;
  let replacing = false;
  if (options.snapshots !== false && firstEngine && !firstEngineTaken) {
    engine = firstEngine;
    firstEngineTaken = true;
  } else if (options.snapshots !== false && firstEngine) {
    replaceEngine();
  }

  function replaceEngine(): void {
    engine = undefined;
    if (replacing) return;
    replacing = true;
    void SnapshotEngine.create(LIMITS).then((fresh) => {
      engine = fresh;
      replacing = false;
    });
  }

  const getRuntime = (): QuickJSRuntime => {
    if (runtime && calls++ < CALLS_PER_RUNTIME) return runtime;
    try {
      runtime?.dispose();
    } catch {
      // A leak report from QuickJS must not take the node down.
    }
    runtime = quickjs.newRuntime(LIMITS);
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

  /** Fast path; "slow" when this contract (or the moment) does not allow it. */
  const runSnapshot = (req: RunRequest, logic: VMLogic): VmFailure | undefined | "slow" => {
    const e = engine;
    if (!e || e.retired) return "slow";
    const image = e.image(req.codeHash, () => {
      stats.modulesEvaluated++;
      return sourceOf(req);
    });
    if (!image) return "slow";
    stats.snapshotCalls++;
    try {
      // Interpretation the fresh path would pay while evaluating the module.
      if (image.loadTicks > 0) logic.gas.burn(GAS_PER_INTERRUPT_TICK * BigInt(image.loadTicks));
      return e.run(image, logic, req.methodName);
    } catch (err) {
      if (err instanceof HostError) return hostFailure(logic.fail(err));
      // The instance may be inconsistent (a trap can leave its stack pointer off): use a new one.
      replaceEngine();
      throw err;
    } finally {
      if (e.retired) replaceEngine();
    }
  };

  return {
    stats,
    run(req: RunRequest): VMOutcome {
      if (isWasm(req.code)) return wasm.run(req);
      const logic = new VMLogic(req.context, req.storage);
      const early = precheck(req);
      if (early) return outcome(logic, early);
      try {
        logic.gas.burn(LOAD_BASE + LOAD_PER_CODE_BYTE * BigInt(req.code.length));
      } catch (e) {
        return outcome(logic, hostFailure(e as HostError));
      }
      try {
        const fast = runSnapshot(req, logic);
        if (fast !== "slow") return outcome(logic, fast);
      } catch (e) {
        return outcome(logic, hostFailure(e instanceof HostError ? e : new InternalVmError(e)));
      }
      stats.freshCalls++;
      stats.modulesEvaluated++;
      const rt = getRuntime();
      const slot = new CallSlot();
      slot.begin(logic);
      rt.setInterruptHandler(() => slot.interrupt());
      const vm = rt.newContext();
      try {
        return outcome(logic, execute(vm, logic, slot, sourceOf(req), req.methodName));
      } catch (e) {
        return outcome(logic, hostFailure(e instanceof HostError ? e : new InternalVmError(e)));
      } finally {
        slot.end();
        vm.dispose();
        rt.removeInterruptHandler();
      }
    },
  };
}

function precheck(req: RunRequest): VmFailure | undefined {
  if (req.code.length === 0) return codeDoesNotExist(req.context.currentAccountId);
  if (req.methodName.length === 0) return methodEmptyName();
  return undefined;
}

/** The fresh-context path: load the module, run one method, free everything. */
function execute(
  vm: QuickJSContext,
  logic: VMLogic,
  slot: CallSlot,
  source: string,
  methodName: string,
): VmFailure | undefined {
  let loaded: ReturnType<typeof loadContract>;
  try {
    loaded = loadContract(vm, slot, source);
  } catch (e) {
    if (e instanceof HostError) return hostFailure(logic.fail(e));
    throw slot.internal ?? e;
  }
  try {
    if (loaded.error) {
      const failure = fatalOrPanic(vm, logic, loaded.error, loaded.helpers);
      loaded.error.dispose();
      return failure;
    }
    try {
      return invokeMethod(vm, loaded, logic, slot, methodName);
    } finally {
      loaded.exports.dispose();
    }
  } finally {
    loaded.helpers.dispose();
  }
}
