// Fast path: evaluate a contract module once, snapshot QuickJS's WebAssembly memory, and restore that
// snapshot before every call instead of parsing and evaluating the module again.
//
// Why this keeps "every call is a fresh realm": everything QuickJS knows (runtime, context, globals,
// the evaluated module, GC and interrupt counters, malloc's state) lives in the WASM linear memory.
// Copying the snapshot back puts all of it exactly where a fresh context would be after evaluating
// the module, so nothing a call did survives into the next one. What lives outside linear memory is
// handled explicitly:
// - The WASM stack pointer is a global inside the instance. Calls leave it where they found it; only a
//   trap could unbalance it, and any unexpected error retires the whole engine (see `retire`).
// - quickjs-emscripten's JS-side bookkeeping: host functions are looked up by id in
//   `runtime.hostRefs`; ids are only created before the snapshot, and deleting them (when a call
//   lets QuickJS free an `env` function) is disabled, because the restore brings those functions back.
//   C-to-host callbacks are keyed by runtime/context pointer and re-registered before each call.
//   Lazily cached handles (global, BigInt) are created before the snapshot.
// - Handles created during a call point into memory the next restore overwrites: they are simply
//   dropped, never disposed.
// - Memory above the snapshot's end: the snapshot covers every byte up to the last non-zero one, which
//   includes malloc's header of its top chunk; above it there is only free heap, whose contents no
//   allocation may rely on (calloc and js_mallocz clear what they hand out).
// - Host functions read the current call from a CallSlot; Date and Math.random ask the host for the
//   current block's timestamp and seed (prelude.ts), so nothing per-call is baked into the snapshot.
// A module whose top-level code touches the host, leaves promise jobs pending, or does not evaluate is
// not snapshotted; it runs on the fresh-context path, which gives the same results.
import {
  newQuickJSWASMModule,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
  RELEASE_SYNC,
} from "quickjs-emscripten";
import { CallSlot } from "./call-slot.js";
import { invokeMethod, loadContract } from "./contract-module.js";
import type { VmFailure } from "./errors.js";
import type { VMLogic } from "./logic.js";

/** Snapshotted contracts kept (each costs its heap image, typically 1-4 MB). */
export const SNAPSHOT_CACHE_SIZE = 16;
/** Contracts found unsnapshottable, remembered so they are not rebuilt on every call. */
const REJECTED_CACHE_SIZE = 256;
/** WASM memory never shrinks; past this size the engine is replaced to give the memory back. */
const MAX_WASM_MEMORY = 256 * 1024 * 1024;
const PAGE = 4096;

export interface EngineLimits {
  memoryLimitBytes: number;
  maxStackSizeBytes: number;
}

/** quickjs-emscripten internals the engine relies on (checked at start-up, see `internalsOf`). */
interface CallbackRegistry {
  setRuntimeCallbacks(rt: number, callbacks: unknown): void;
  setContextCallbacks(ctx: number, callbacks: unknown): void;
}
interface Internals {
  registry: CallbackRegistry;
  runtimeCallbacks: unknown;
  contextCallbacks: unknown;
  rtPointer: number;
  ctxPointer: number;
}

interface ContractImage {
  readonly runtime: QuickJSRuntime;
  readonly vm: QuickJSContext;
  readonly exports: QuickJSHandle;
  /** The prelude's helpers `env` uses (contract-module.ts loadContract). */
  readonly helpers: QuickJSHandle;
  readonly internals: Internals;
  /** Linear memory from address 0 up to (page-rounded) its last non-zero byte. */
  readonly memory: Uint8Array;
  /** Interrupt ticks spent evaluating the module, charged to every call like the fresh path does. */
  readonly loadTicks: number;
}

export class SnapshotEngine {
  private readonly images = new Map<string, ContractImage>();
  private readonly rejected = new Set<string>();
  private readonly slot = new CallSlot();
  private heap: Uint8Array;
  /** Set once the engine may be inconsistent; the runtime then stops using it. */
  retired = false;

  private constructor(
    private readonly module: QuickJSWASMModule,
    private readonly wasmMemory: WebAssembly.Memory,
    private readonly pristine: Uint8Array,
    private readonly limits: EngineLimits,
  ) {
    this.heap = new Uint8Array(wasmMemory.buffer);
  }

  /** A dedicated QuickJS WASM instance (own linear memory); undefined if it cannot be snapshotted. */
  static async create(limits: EngineLimits): Promise<SnapshotEngine | undefined> {
    try {
      const module = await newQuickJSWASMModule(RELEASE_SYNC);
      const memory = module.getWasmMemory();
      return new SnapshotEngine(module, memory, copyUsed(new Uint8Array(memory.buffer)), limits);
    } catch {
      return undefined;
    }
  }

  /** The contract's image, built on first use; undefined when the contract must take the slow path. */
  image(codeHash: string, source: () => string): ContractImage | undefined {
    const hit = this.images.get(codeHash);
    if (hit) {
      // Map order is the LRU order.
      this.images.delete(codeHash);
      this.images.set(codeHash, hit);
      return hit;
    }
    if (this.rejected.has(codeHash)) return undefined;
    const built = this.build(source());
    if (!built) {
      if (this.rejected.size >= REJECTED_CACHE_SIZE) this.rejected.clear();
      this.rejected.add(codeHash);
      return undefined;
    }
    this.images.set(codeHash, built);
    if (this.images.size > SNAPSHOT_CACHE_SIZE) {
      const oldest = this.images.keys().next().value as string;
      // Dropped without dispose: its handles point into an image that will never be loaded again.
      this.images.delete(oldest);
    }
    return built;
  }

  /** Runs one method on a freshly restored image. Same contract as contract-module's invokeMethod. */
  run(image: ContractImage, logic: VMLogic, methodName: string): VmFailure | undefined {
    this.restore(image.memory);
    const { registry, rtPointer, ctxPointer } = image.internals;
    // Another image may have registered callbacks under the same pointers since.
    registry.setRuntimeCallbacks(rtPointer, image.internals.runtimeCallbacks);
    registry.setContextCallbacks(ctxPointer, image.internals.contextCallbacks);
    this.slot.begin(logic);
    try {
      return invokeMethod(image.vm, image, logic, this.slot, methodName);
    } finally {
      this.slot.end();
      if (this.wasmMemory.buffer.byteLength > MAX_WASM_MEMORY) this.retired = true;
    }
  }

  private restore(image: Uint8Array): void {
    this.view().set(image, 0);
  }

  /** A view of linear memory; a grown memory has a new buffer (the old one is detached). */
  private view(): Uint8Array {
    if (this.heap.buffer !== this.wasmMemory.buffer) this.heap = new Uint8Array(this.wasmMemory.buffer);
    return this.heap;
  }

  private build(source: string): ContractImage | undefined {
    // Start from the state of a new instance: earlier calls left garbage in free memory above the
    // images, which would otherwise end up in (and bloat) this image.
    this.restore(this.pristine);
    this.view().fill(0, this.pristine.length);
    const slot = this.slot;
    slot.end();
    slot.ticksOutsideCall = 0;
    slot.touchedOutsideCall = false;
    try {
      const runtime = this.module.newRuntime(this.limits);
      runtime.setInterruptHandler(() => slot.interrupt());
      const vm = runtime.newContext();
      // Fill quickjs-emscripten's lazy handle caches now, so no call creates one that a restore
      // would invalidate.
      vm.newBigInt(0n).dispose();
      const loaded = loadContract(vm, slot, source);
      if (loaded.error) return undefined;
      if (slot.touchedOutsideCall || runtime.hasPendingJob()) return undefined;
      if (!freezeHostRefs(runtime)) return undefined;
      const internals = internalsOf(this.module, runtime, vm);
      if (!internals) return undefined;
      return {
        runtime,
        vm,
        exports: loaded.exports,
        helpers: loaded.helpers,
        internals,
        memory: copyUsed(this.view()),
        loadTicks: slot.ticksOutsideCall,
      };
    } catch {
      return undefined;
    }
  }
}

/** Copies memory from 0 to its last non-zero byte, rounded up to a page. */
function copyUsed(heap: Uint8Array): Uint8Array {
  const words = new Int32Array(heap.buffer, 0, heap.byteLength >> 2);
  let end = words.length;
  while (end > 0 && words[end - 1] === 0) end--;
  const bytes = Math.min(heap.byteLength, Math.ceil((end * 4) / PAGE) * PAGE);
  return heap.slice(0, bytes);
}

/**
 * After the snapshot, QuickJS may free an `env` function during a call (contract code deleting it)
 * and quickjs-emscripten would then forget its host-ref id; the next restore brings the function
 * back, so the id must stay resolvable.
 */
function freezeHostRefs(runtime: QuickJSRuntime): boolean {
  const refs = (runtime as unknown as { hostRefs?: { delete?: (id: number) => void } }).hostRefs;
  if (typeof refs?.delete !== "function") return false;
  refs.delete = () => {};
  return true;
}

function internalsOf(
  module: QuickJSWASMModule,
  runtime: QuickJSRuntime,
  vm: QuickJSContext,
): Internals | undefined {
  const m = module as unknown as { callbacks?: Partial<CallbackRegistry> };
  const rt = runtime as unknown as { cToHostCallbacks?: unknown; rt?: { value: number } };
  const ctx = vm as unknown as { cToHostCallbacks?: unknown; ctx?: { value: number } };
  const registry = m.callbacks;
  if (
    typeof registry?.setRuntimeCallbacks !== "function" ||
    typeof registry.setContextCallbacks !== "function" ||
    !rt.cToHostCallbacks ||
    !ctx.cToHostCallbacks ||
    typeof rt.rt?.value !== "number" ||
    typeof ctx.ctx?.value !== "number"
  ) {
    return undefined;
  }
  return {
    registry: registry as CallbackRegistry,
    runtimeCallbacks: rt.cToHostCallbacks,
    contextCallbacks: ctx.cToHostCallbacks,
    rtPointer: rt.rt.value,
    ctxPointer: ctx.ctx.value,
  };
}
