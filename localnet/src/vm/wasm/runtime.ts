// Runs WASM contracts as nearcore does: prepared and compiled once per code hash (prepare.ts, kept in
// an LRU cache), a fresh instance and fresh memory per call, host functions over that memory
// (host-functions.ts), gas per executed instruction through the imported counter the instrumentation
// decrements (OpMeter below), and nearcore's errors for every way a call can fail.
// The token contract's near-sdk-js WASM (QuickJS inside) takes a few ms per call this way, against
// ~0.5 ms for its JS bundle in the snapshot-cached QuickJS path (see localnet/README.md "Gas").
import {
  HostError,
  hostFailure,
  InternalVmError,
  linkFailure,
  methodEmptyName,
  methodInvalidSignature,
  methodNotFound,
  prepareFailure,
  type VmFailure,
  type WasmTrapKind,
  wasmTrap,
} from "../errors.js";
import { COST, type GasCounter } from "../gas.js";
import { VMLogic } from "../logic.js";
import { outcome } from "../outcome.js";
import type { ContractRuntime, RunRequest, VMOutcome } from "../types.js";
import { HOST_FUNCTIONS, type HostCall, type HostFunction, linkError } from "./host-functions.js";
import { GuestMemory } from "./memory.js";
import {
  type FuncType,
  GAS_EXPORT,
  PrepareFailure,
  prepareContract,
  START_EXPORT,
  WASM_LIMITS,
} from "./prepare.js";

const CACHED_MODULES = 32;
const I32 = 0x7f;

interface Module {
  module: WebAssembly.Module;
  exports: Map<string, FuncType>;
  memoryPages: number;
  hasStart: boolean;
}
type Compiled = Module | { failure: VmFailure };

/**
 * Moves gas between the instrumented code's counter (instructions it may still run, an i64 global of
 * the instance) and the call's GasCounter: synced at every host call, at the end and after a trap,
 * refilled after every host call.
 */
class OpMeter {
  private global: WebAssembly.Global | undefined;
  private budget = 0n;
  private gas: GasCounter | undefined;

  start(global: WebAssembly.Global, gas: GasCounter): void {
    this.global = global;
    this.gas = gas;
    this.refill();
  }

  stop(): void {
    this.global = undefined;
    this.gas = undefined;
  }

  /** Charges the instructions run since the last refill; throws GasExceeded when they did not fit. */
  sync(): void {
    if (!this.global) return;
    const left = this.global.value as bigint;
    const ops = this.budget - left;
    this.budget = left;
    if (ops > 0n) this.gas?.burn(ops * COST.regular_op);
  }

  refill(): void {
    if (!this.global) return;
    const ops = (this.gas?.burnable() ?? 0n) / COST.regular_op;
    this.budget = ops;
    this.global.value = ops;
  }
}

export class WasmRuntime implements ContractRuntime {
  private readonly modules = new Map<string, Compiled>();
  private readonly meter = new OpMeter();
  private readonly env: WebAssembly.ModuleImports = {};
  private call: HostCall | undefined;

  constructor() {
    for (const [name, fn] of Object.entries(HOST_FUNCTIONS)) this.env[name] = this.bind(name, fn);
  }

  private bind(name: string, fn: HostFunction): (...args: (bigint | number)[]) => unknown {
    // WASM hands i64 over as signed BigInts and i32 as numbers; nearcore reads both as unsigned.
    const unsigned = fn.type.params.includes(I32)
      ? (a: bigint | number) => BigInt(Number(a) >>> 0)
      : (a: bigint | number) => BigInt.asUintN(64, a as bigint);
    return (...args) => {
      const call = this.call;
      if (!call) throw new InternalVmError(`${name} called outside a contract call`);
      this.meter.sync();
      call.logic.enter(name, fn.viewProhibited);
      const result = fn.impl(call, ...args.map(unsigned));
      this.meter.refill();
      return result;
    };
  }

  run(req: RunRequest): VMOutcome {
    const logic = new VMLogic(req.context, req.storage);
    if (req.methodName.length === 0) return outcome(logic, methodEmptyName());
    try {
      logic.gas.burn(COST.contract_loading_base + COST.contract_loading_bytes * BigInt(req.code.length));
    } catch (e) {
      return outcome(logic, hostFailure(logic.fail(e as HostError)));
    }
    const compiled = this.compiled(req);
    if ("failure" in compiled) return outcome(logic, compiled.failure);
    const type = compiled.exports.get(req.methodName);
    if (!type) return outcome(logic, methodNotFound());
    if (type.params.length > 0 || type.results.length > 0) return outcome(logic, methodInvalidSignature());
    return outcome(logic, this.execute(compiled, req.methodName, logic));
  }

  private compiled(req: RunRequest): Compiled {
    const cached = this.modules.get(req.codeHash);
    if (cached) {
      this.modules.delete(req.codeHash);
      this.modules.set(req.codeHash, cached);
      return cached;
    }
    const compiled = compile(req.code);
    this.modules.set(req.codeHash, compiled);
    if (this.modules.size > CACHED_MODULES) this.modules.delete(this.modules.keys().next().value as string);
    return compiled;
  }

  private execute(compiled: Module, method: string, logic: VMLogic): VmFailure | undefined {
    const memory = new WebAssembly.Memory({
      initial: compiled.memoryPages,
      maximum: WASM_LIMITS.maxMemoryPages,
    });
    this.call = { logic, mem: new GuestMemory(memory, logic) };
    this.env.memory = memory;
    let instantiated = false;
    try {
      const { exports } = new WebAssembly.Instance(compiled.module, { env: this.env });
      instantiated = true;
      this.meter.start(exports[GAS_EXPORT] as WebAssembly.Global, logic.gas);
      if (compiled.hasStart) (exports[START_EXPORT] as () => void)();
      (exports[method] as () => void)();
      this.meter.sync();
      logic.distributeWeightedGas();
      return undefined;
    } catch (e) {
      return this.failure(e, logic, instantiated);
    } finally {
      this.meter.stop();
      this.call = undefined;
      delete this.env.memory;
    }
  }

  private failure(e: unknown, logic: VMLogic, instantiated: boolean): VmFailure {
    if (e instanceof HostError) return hostFailure(logic.fail(e));
    try {
      this.meter.sync(); // what ran before the trap; an overdrawn counter is GasExceeded
    } catch (gas) {
      return hostFailure(logic.fail(gas as HostError));
    }
    if (e instanceof WebAssembly.RuntimeError) {
      if (!instantiated && /segment/.test(e.message)) return prepareFailure("Instantiate");
      return wasmTrap(trapKind(e.message));
    }
    if (e instanceof RangeError && /call stack/i.test(e.message)) return wasmTrap("StackOverflow");
    if (e instanceof WebAssembly.CompileError) return prepareFailure("Deserialization");
    if (e instanceof WebAssembly.LinkError) return linkFailure(e.message);
    return hostFailure(logic.fail(new InternalVmError(e)));
  }
}

function compile(code: Uint8Array): Compiled {
  try {
    const prepared = prepareContract(code);
    // V8 validates function bodies lazily; nearcore rejects an invalid module before running it.
    if (!WebAssembly.validate(prepared.code)) return { failure: prepareFailure("Deserialization") };
    const unlinkable = linkError(prepared.imports);
    if (unlinkable) return { failure: linkFailure(unlinkable) };
    const { exports, memoryPages, hasStart } = prepared;
    return { module: new WebAssembly.Module(prepared.code), exports, memoryPages, hasStart };
  } catch (e) {
    if (e instanceof PrepareFailure) return { failure: prepareFailure(e.kind) };
    if (e instanceof WebAssembly.CompileError) return { failure: prepareFailure("Deserialization") };
    throw e;
  }
}

/** V8's trap messages to nearcore's WasmTrap kinds. */
function trapKind(message: string): WasmTrapKind {
  if (/unreachable/.test(message)) return "Unreachable";
  if (/memory access out of bounds/.test(message)) return "MemoryOutOfBounds";
  if (/by zero|integer overflow|unrepresentable/.test(message)) return "IllegalArithmetic";
  if (/table index is out of bounds/.test(message)) return "CallIndirectOOB";
  if (/signature mismatch/.test(message)) return "IncorrectCallIndirectSignature";
  return "GenericTrap";
}
