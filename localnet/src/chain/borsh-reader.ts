// A minimal Borsh reader: enough for NEAR transactions, and much cheaper to load than a schema library.
// Malformed input throws BorshDecodeError, which the RPC answers as a parse error.

/** Bytes that are not the Borsh encoding expected (the message says what; it starts with "borsh: "). */
export class BorshDecodeError extends Error {
  constructor(what: string) {
    super(`borsh: ${what}`);
    this.name = "BorshDecodeError";
  }
}

export class BorshReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  get done(): boolean {
    return this.offset === this.bytes.length;
  }

  private need(n: number): void {
    if (this.offset + n > this.bytes.length) throw new BorshDecodeError("unexpected end of input");
  }

  slice(start: number, end: number): Uint8Array {
    return this.bytes.slice(start, end);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }

  u128(): bigint {
    const lo = this.u64();
    const hi = this.u64();
    return (hi << 64n) | lo;
  }

  fixed(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  bytesVec(): Uint8Array {
    return this.fixed(this.u32());
  }

  string(): string {
    return Buffer.from(this.bytesVec()).toString("utf8");
  }

  vec<T>(item: () => T): T[] {
    const n = this.u32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }

  option<T>(item: () => T): T | null {
    return this.u8() === 0 ? null : item();
  }
}
