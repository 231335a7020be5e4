// A contract's linear memory as nearcore's host functions see it: bounds-checked reads and writes that
// charge read_memory / write_memory gas, u128 values little-endian, and the "register instead of
// memory" convention (a length of u64::MAX means "the pointer is a register id").
import { HostError } from "../errors.js";
import { COST } from "../gas.js";
import type { VMLogic } from "../logic.js";
import { U64_MAX } from "../logic.js";

export class GuestMemory {
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly logic: VMLogic,
  ) {}

  private view(ptr: bigint, len: bigint): { bytes: Uint8Array; start: number; end: number } {
    const bytes = new Uint8Array(this.memory.buffer);
    const end = ptr + len;
    if (end > BigInt(bytes.length)) throw new HostError("MemoryAccessViolation");
    return { bytes, start: Number(ptr), end: Number(end) };
  }

  /** A copy of `len` bytes at `ptr`. */
  read(ptr: bigint, len: bigint): Uint8Array {
    this.logic.gas.burn(COST.read_memory_base + COST.read_memory_byte * len);
    const { bytes, start, end } = this.view(ptr, len);
    return bytes.slice(start, end);
  }

  write(ptr: bigint, data: Uint8Array): void {
    const len = BigInt(data.length);
    this.logic.gas.burn(COST.write_memory_base + COST.write_memory_byte * len);
    const { bytes, start } = this.view(ptr, len);
    bytes.set(data, start);
  }

  /** nearcore's get_memory_or_register: bytes from memory, or a register when `len` is u64::MAX. */
  bytes(ptr: bigint, len: bigint): Uint8Array {
    return len === U64_MAX ? this.logic.readRegister(ptr) : this.read(ptr, len);
  }

  readU128(ptr: bigint): bigint {
    const b = this.read(ptr, 16n);
    const view = new DataView(b.buffer, b.byteOffset, 16);
    return view.getBigUint64(0, true) | (view.getBigUint64(8, true) << 64n);
  }

  writeU128(ptr: bigint, value: bigint): void {
    const b = new Uint8Array(16);
    const view = new DataView(b.buffer);
    view.setBigUint64(0, value & U64_MAX, true);
    view.setBigUint64(8, value >> 64n, true);
    this.write(ptr, b);
  }

  readU32(ptr: bigint): number {
    const b = this.read(ptr, 4n);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }

  /** u64 values (promise indices for promise_and). */
  readU64s(ptr: bigint, count: bigint): bigint[] {
    const b = this.read(ptr, count * 8n);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const out: bigint[] = [];
    for (let i = 0; i < b.byteLength; i += 8) out.push(view.getBigUint64(i, true));
    return out;
  }

  /**
   * nearcore's string arguments (logs, panics): `len` bytes, or when `len` is u64::MAX a string
   * terminated by a zero unit of `unit` bytes (1 for UTF-8, 2 for UTF-16), each unit read and charged
   * separately as nearcore does, up to `limit` bytes.
   */
  string(ptr: bigint, len: bigint, unit: 1 | 2, limit: number): Uint8Array {
    if (len !== U64_MAX) return this.read(ptr, len);
    const out: number[] = [];
    for (let p = ptr; ; p += BigInt(unit)) {
      const u = this.read(p, BigInt(unit));
      if (u.every((b) => b === 0)) break;
      out.push(...u);
      if (out.length > limit) {
        throw new HostError("TotalLogLengthExceeded", { length: out.length, limit });
      }
    }
    return Uint8Array.from(out);
  }
}
