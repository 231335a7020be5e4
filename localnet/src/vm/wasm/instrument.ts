// Gas metering of function bodies, with nearcore's counting rule (prepare_v2.rs, SimpleGasCostCfg):
// every instruction costs one `regular_op_cost`, except `block`, `else` and `end`, which cost nothing.
// Hand-written rather than binaryen because the rule is about the *binary's* instructions, which this
// pass sees one by one (binaryen's tree IR reshapes them), because it is one pass over the bytes with
// no 10 MB dependency, and because it stays small: a decoder of MVP immediates plus inserted charges.
//
// Each straight-line segment (from a function's start or a branch target up to the next control
// instruction) subtracts its instruction count from a gas global at its start. Only where execution
// can repeat — function entries and loop headers — does the code also trap (`unreachable`) once the
// global is below zero: that bounds every run, and the host reads the global at every host call, at
// the end and after any trap, so an overdraft is always reported as GasExceeded before anything it
// would have done becomes visible (runtime.ts). Checking every segment costs ~30% more time for the
// same outcome. Segments end after: loop, if, else, end, br, br_if, br_table, return, unreachable.
import { MalformedWasm, Reader, Writer } from "./binary.js";

const VALUE_TYPES = new Set([0x7f, 0x7e, 0x7d, 0x7c]); // i32 i64 f32 f64
const FREE = new Set([0x02, 0x05, 0x0b]); // block else end
const SEGMENT_END = new Set([0x00, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);
const LOOP = 0x03;

interface Segment {
  /** Offset in the body where the segment's first instruction starts. */
  pos: number;
  ops: number;
  /** Function entry or loop header: also check the counter. */
  check: boolean;
}

/**
 * Appends the instrumented `body` (one code-section entry without its size prefix) to `out`, with its
 * new size prefix, and returns its number of locals. Throws MalformedWasm for anything outside
 * nearcore's feature set (MVP and sign extension: no SIMD, bulk memory, reference types, multi-value).
 */
export function instrumentBody(body: Uint8Array, gasGlobal: number, out: Writer): number {
  const r = new Reader(body);
  let locals = 0;
  const groups = r.u32();
  for (let i = 0; i < groups; i++) {
    locals += r.u32();
    if (!VALUE_TYPES.has(r.u8())) throw new MalformedWasm("unsupported local type");
  }
  const w = new Writer();
  let copied = 0;
  for (const segment of segments(r)) {
    w.bytes(body.subarray(copied, segment.pos));
    writeCharge(w, gasGlobal, segment);
    copied = segment.pos;
  }
  w.bytes(body.subarray(copied));
  const bytes = w.finish();
  out.u32(bytes.length).bytes(bytes);
  return locals;
}

/** Decodes the instructions once: where each segment starts and how many instructions it has. */
function segments(r: Reader): Segment[] {
  const found: Segment[] = [];
  let segment: Segment = { pos: r.pos, ops: 0, check: true };
  let depth = 0;
  for (;;) {
    const op = r.u8();
    if (!FREE.has(op)) segment.ops++;
    skipImmediates(op, r);
    if (op === 0x02 || op === 0x03 || op === 0x04) depth++;
    if (op === 0x0b && depth-- === 0) {
      if (segment.ops > 0 || segment.check) found.push(segment);
      if (!r.done) throw new MalformedWasm("code after the end of a function");
      return found;
    }
    if (SEGMENT_END.has(op)) {
      if (segment.ops > 0 || segment.check) found.push(segment);
      segment = { pos: r.pos, ops: 0, check: op === LOOP };
    }
  }
}

function skipImmediates(op: number, r: Reader): void {
  if (op >= 0x45 && op <= 0xc4) return; // numeric, conversions, sign extension: no immediates
  switch (op) {
    case 0x00: // unreachable
    case 0x01: // nop
    case 0x05: // else
    case 0x0b: // end
    case 0x0f: // return
    case 0x1a: // drop
    case 0x1b: // select
      return;
    case 0x02: // block
    case 0x03: // loop
    case 0x04: {
      // if
      const type = r.u8();
      if (type !== 0x40 && !VALUE_TYPES.has(type))
        throw new MalformedWasm("multi-value blocks are not supported");
      return;
    }
    case 0x0c: // br
    case 0x0d: // br_if
    case 0x10: // call
    case 0x20: // local.get
    case 0x21: // local.set
    case 0x22: // local.tee
    case 0x23: // global.get
    case 0x24: // global.set
      r.u32();
      return;
    case 0x0e: {
      // br_table: the labels and the default
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
      return;
    }
    case 0x11: // call_indirect
      r.u32();
      if (r.u8() !== 0) throw new MalformedWasm("call_indirect on a table other than 0");
      return;
    case 0x3f: // memory.size
    case 0x40: // memory.grow
      if (r.u8() !== 0) throw new MalformedWasm("memory index other than 0");
      return;
    case 0x41:
      r.skipSigned(32);
      return;
    case 0x42:
      r.skipSigned(64);
      return;
    case 0x43:
      r.skip(4);
      return;
    case 0x44:
      r.skip(8);
      return;
  }
  if (op >= 0x28 && op <= 0x3e) {
    // loads and stores: alignment, offset
    r.u32();
    r.u32();
    return;
  }
  throw new MalformedWasm(`unsupported instruction 0x${op.toString(16)}`);
}

/** gas -= ops; then, at function entries and loop headers: if (gas < 0) unreachable */
function writeCharge(w: Writer, gasGlobal: number, { ops, check }: Segment): void {
  if (ops > 0) {
    w.byte(0x23).u32(gasGlobal);
    w.byte(0x42).s64(ops);
    w.byte(0x7d); // i64.sub
    w.byte(0x24).u32(gasGlobal);
  }
  if (check) {
    w.byte(0x23).u32(gasGlobal);
    w.byte(0x42).s64(0);
    w.byte(0x53); // i64.lt_s
    w.byte(0x04).byte(0x40); // if
    w.byte(0x00); // unreachable
    w.byte(0x0b); // end
  }
}
