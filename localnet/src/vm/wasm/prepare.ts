// nearcore's contract preparation (near-vm-runner prepare_v2.rs), done once per code hash: check the
// module against the protocol's feature set and limits, replace its own memory by an imported
// `env.memory`, and add gas metering (instrument.ts). The metering counter is a global of the
// module exported under a name no method lookup reaches; a start function becomes a hidden export the
// runtime calls after setting that counter, so it is metered like any other code.
//
// One deliberate difference: nearcore's memory starts at initial_memory_pages (1024 = 64 MiB); here it
// starts at the size the module declares (at most that), with nearcore's maximum (2048 pages).
// Allocating 64 MiB per call made V8 run a full GC on almost every call (5x slower); a contract sees
// the difference only in `memory.size` before it grows memory, which allocators do on demand.
import { MalformedWasm, Reader, readSections, SECTION, type Section, Writer, writeModule } from "./binary.js";
import { instrumentBody } from "./instrument.js";

export const WASM_LIMITS = {
  initialMemoryPages: 1024,
  maxMemoryPages: 2048,
  maxFunctionsPerContract: 10_000,
  maxLocalsPerContract: 1_000_000,
};

/** Hidden exports added by preparation (a NUL cannot start a name a contract would export). */
export const GAS_EXPORT = "\0localnet:gas";
export const START_EXPORT = "\0localnet:start";

export type PrepareErrorKind =
  | "Deserialization"
  | "Instantiate"
  | "Memory"
  | "TooManyFunctions"
  | "TooManyLocals";

export class PrepareFailure extends Error {
  constructor(readonly kind: PrepareErrorKind) {
    super(kind);
  }
}

export interface FuncType {
  params: number[];
  results: number[];
}

export interface PreparedContract {
  /** The instrumented module, ready for WebAssembly.Module. */
  code: Uint8Array<ArrayBuffer>;
  /** Functions the contract imports from `env`, in import order. */
  imports: { name: string; type: FuncType }[];
  /** Exported functions by name (the callable methods), with their types. */
  exports: Map<string, FuncType>;
  /** Pages `env.memory` must start with. */
  memoryPages: number;
  /** The module had a start function, now exported as START_EXPORT. */
  hasStart: boolean;
}

const VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c]);
const KIND = { func: 0, table: 1, memory: 2, global: 3 } as const;
const ORDER = [
  SECTION.type,
  SECTION.import,
  SECTION.function,
  SECTION.table,
  SECTION.global,
  SECTION.export,
  SECTION.element,
  SECTION.code,
  SECTION.data,
];

export function prepareContract(code: Uint8Array): PreparedContract {
  try {
    return prepare(code);
  } catch (e) {
    if (e instanceof MalformedWasm) throw new PrepareFailure("Deserialization");
    throw e;
  }
}

function prepare(code: Uint8Array): PreparedContract {
  const sections = readSections(code);
  const body = (id: number) => sections.find((s) => s.id === id)?.body;
  if (body(SECTION.dataCount)) throw new MalformedWasm("bulk memory is not supported");
  const types = readTypes(body(SECTION.type));
  const imports = readImports(body(SECTION.import), types);
  const functionTypes = readFunctionTypes(body(SECTION.function), types);
  if (imports.length + functionTypes.length > WASM_LIMITS.maxFunctionsPerContract) {
    throw new PrepareFailure("TooManyFunctions");
  }
  const typeOfFunc = (i: number): FuncType => {
    const t = i < imports.length ? imports[i]?.type : functionTypes[i - imports.length];
    if (!t) throw new MalformedWasm("function index out of range");
    return t;
  };
  const start = body(SECTION.start) && new Reader(body(SECTION.start) as Uint8Array).u32();
  if (start !== undefined) typeOfFunc(start);
  const memoryPages = declaredPages(body(SECTION.memory));
  checkTables(body(SECTION.table));
  checkSegments(body(SECTION.element), "element");
  checkSegments(body(SECTION.data), "data");

  const globals = readGlobals(body(SECTION.global));
  const exports = new Map<string, FuncType>();
  const rewritten: Record<number, Uint8Array> = {
    [SECTION.import]: importSection(body(SECTION.import), memoryPages),
    [SECTION.global]: globals.withGas,
    [SECTION.export]: exportSection(body(SECTION.export), {
      typeOfFunc,
      exports,
      gas: globals.gasIndex,
      start,
    }),
  };
  const functions = body(SECTION.code);
  if (functions) rewritten[SECTION.code] = instrumentCode(functions, globals.gasIndex);

  const out: Section[] = [];
  for (const id of ORDER) {
    const contents = rewritten[id] ?? body(id);
    if (contents) out.push({ id, body: contents });
  }
  for (const s of sections) if (s.id === SECTION.custom) out.push(s);
  return { code: writeModule(out), imports, exports, memoryPages, hasStart: start !== undefined };
}

function readValueTypes(r: Reader): number[] {
  const n = r.u32();
  const list: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = r.u8();
    if (!VALUE_TYPES.has(t)) throw new MalformedWasm("unsupported value type");
    list.push(t);
  }
  return list;
}

function readTypes(body: Uint8Array | undefined): FuncType[] {
  if (!body) return [];
  const r = new Reader(body);
  const n = r.u32();
  const types: FuncType[] = [];
  for (let i = 0; i < n; i++) {
    if (r.u8() !== 0x60) throw new MalformedWasm("bad function type");
    const params = readValueTypes(r);
    const results = readValueTypes(r);
    if (results.length > 1) throw new MalformedWasm("multi-value results are not supported");
    types.push({ params, results });
  }
  return types;
}

function typeAt(types: FuncType[], index: number): FuncType {
  const t = types[index];
  if (!t) throw new MalformedWasm("type index out of range");
  return t;
}

/** Only functions from `env` may be imported (nearcore: other modules, tables, globals = Instantiate). */
function readImports(body: Uint8Array | undefined, types: FuncType[]): PreparedContract["imports"] {
  if (!body) return [];
  const r = new Reader(body);
  const n = r.u32();
  const imports: PreparedContract["imports"] = [];
  for (let i = 0; i < n; i++) {
    const module = r.name();
    const name = r.name();
    const kind = r.u8();
    if (module !== "env") throw new PrepareFailure("Instantiate");
    if (kind === KIND.memory) throw new PrepareFailure("Memory");
    if (kind !== KIND.func) throw new PrepareFailure("Instantiate");
    imports.push({ name, type: typeAt(types, r.u32()) });
  }
  return imports;
}

function importSection(original: Uint8Array | undefined, pages: number): Uint8Array {
  const r = original ? new Reader(original) : undefined;
  const count = r ? r.u32() : 0;
  const w = new Writer().u32(count + 1);
  if (r && original) w.bytes(original.subarray(r.pos));
  w.name("env").name("memory").byte(KIND.memory);
  w.byte(0x01).u32(pages).u32(WASM_LIMITS.maxMemoryPages);
  return w.finish();
}

function declaredPages(body: Uint8Array | undefined): number {
  if (!body) return 0;
  const r = new Reader(body);
  const n = r.u32();
  if (n > 1) throw new MalformedWasm("more than one memory");
  if (n === 0) return 0;
  const flags = r.u8();
  if (flags > 1) throw new MalformedWasm("unsupported memory");
  return Math.min(r.u32(), WASM_LIMITS.initialMemoryPages);
}

function readFunctionTypes(body: Uint8Array | undefined, types: FuncType[]): FuncType[] {
  if (!body) return [];
  const r = new Reader(body);
  const n = r.u32();
  const list: FuncType[] = [];
  for (let i = 0; i < n; i++) list.push(typeAt(types, r.u32()));
  return list;
}

function checkTables(body: Uint8Array | undefined): void {
  if (!body) return;
  const r = new Reader(body);
  const n = r.u32();
  if (n > 1) throw new MalformedWasm("more than one table");
  for (let i = 0; i < n; i++) {
    if (r.u8() !== 0x70) throw new MalformedWasm("tables hold functions only");
    const flags = r.u8();
    r.u32();
    if (flags & 1) r.u32();
  }
}

/** A constant expression: one *.const and `end` (MVP allows global.get of imports only: none here). */
function skipConstExpr(r: Reader): void {
  const op = r.u8();
  if (op === 0x41) r.skipSigned(32);
  else if (op === 0x42) r.skipSigned(64);
  else if (op === 0x43) r.skip(4);
  else if (op === 0x44) r.skip(8);
  else throw new MalformedWasm("unsupported constant expression");
  if (r.u8() !== 0x0b) throw new MalformedWasm("unterminated constant expression");
}

/** The global section with the gas counter appended: `(mut i64) (i64.const 0)`. */
function readGlobals(body: Uint8Array | undefined): { withGas: Uint8Array; gasIndex: number } {
  const r = new Reader(body ?? Uint8Array.of(0));
  const n = r.u32();
  const entries = r.pos;
  for (let i = 0; i < n; i++) {
    if (!VALUE_TYPES.has(r.u8())) throw new MalformedWasm("unsupported global type");
    r.u8();
    skipConstExpr(r);
  }
  const w = new Writer().u32(n + 1).bytes(r.bytes.subarray(entries, r.pos));
  w.byte(0x7e).byte(0x01).byte(0x42).s64(0).byte(0x0b);
  return { withGas: w.finish(), gasIndex: n };
}

/** MVP active segments only (flags 0); the rest belongs to bulk memory / reference types. */
function checkSegments(body: Uint8Array | undefined, what: "element" | "data"): void {
  if (!body) return;
  const r = new Reader(body);
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    if (r.u32() !== 0) throw new MalformedWasm(`unsupported ${what} segment`);
    skipConstExpr(r);
    const len = r.u32();
    if (what === "data") r.skip(len);
    else for (let j = 0; j < len; j++) r.u32();
  }
}

function exportSection(
  body: Uint8Array | undefined,
  o: { typeOfFunc: (i: number) => FuncType; exports: Map<string, FuncType>; gas: number; start?: number },
): Uint8Array {
  const r = new Reader(body ?? Uint8Array.of(0));
  const n = r.u32();
  const w = new Writer().u32(n + (o.start === undefined ? 1 : 2));
  for (let i = 0; i < n; i++) {
    const name = r.name();
    const kind = r.u8();
    const index = r.u32();
    if (name === GAS_EXPORT || name === START_EXPORT) throw new MalformedWasm("reserved export name");
    if (kind === KIND.func) o.exports.set(name, o.typeOfFunc(index));
    w.name(name).byte(kind).u32(index);
  }
  w.name(GAS_EXPORT).byte(KIND.global).u32(o.gas);
  if (o.start !== undefined) w.name(START_EXPORT).byte(KIND.func).u32(o.start);
  return w.finish();
}

function instrumentCode(body: Uint8Array, gasGlobal: number): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const w = new Writer().u32(n);
  let locals = 0;
  for (let i = 0; i < n; i++) {
    const size = r.u32();
    locals += instrumentBody(r.take(size), gasGlobal, w);
    if (locals > WASM_LIMITS.maxLocalsPerContract) throw new PrepareFailure("TooManyLocals");
  }
  return w.finish();
}
