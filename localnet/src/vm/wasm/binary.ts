// Reading and writing the WebAssembly binary format: LEB128 integers, names, sections. Only what
// prepare.ts needs to rewrite a module; malformed input throws MalformedWasm.

export class MalformedWasm extends Error {}

export class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
    readonly end = bytes.length,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  u8(): number {
    if (this.pos >= this.end) throw new MalformedWasm("unexpected end of module");
    return this.bytes[this.pos++] as number;
  }

  /** Unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new MalformedWasm("integer too long");
    }
    if (result > 0xffffffff) throw new MalformedWasm("integer too large");
    return result;
  }

  /** Skips a signed LEB128 of at most `bits` bits (constants are copied, never interpreted). */
  skipSigned(bits: number): void {
    const maxBytes = Math.ceil(bits / 7);
    for (let i = 0; i < maxBytes; i++) if ((this.u8() & 0x80) === 0) return;
    throw new MalformedWasm("integer too long");
  }

  skip(n: number): void {
    if (this.pos + n > this.end) throw new MalformedWasm("unexpected end of module");
    this.pos += n;
  }

  take(n: number): Uint8Array {
    const start = this.pos;
    this.skip(n);
    return this.bytes.subarray(start, this.pos);
  }

  name(): string {
    const bytes = this.take(this.u32());
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new MalformedWasm("invalid UTF-8 name");
    }
  }
}

/** A growable byte buffer. */
export class Writer {
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(1024);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): this {
    this.reserve(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(data: Uint8Array): this {
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  u32(value: number): this {
    let v = value >>> 0;
    do {
      const b = v & 0x7f;
      v >>>= 7;
      this.byte(v === 0 ? b : b | 0x80);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of a non-negative safe integer. */
  s64(value: number): this {
    let v = value;
    for (;;) {
      const b = v % 128;
      v = Math.floor(v / 128);
      if (v === 0 && (b & 0x40) === 0) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  name(s: string): this {
    const data = new TextEncoder().encode(s);
    return this.u32(data.length).bytes(data);
  }

  /** A section: id, byte length, contents. */
  section(id: number, contents: Writer | Uint8Array): this {
    const data = contents instanceof Writer ? contents.finish() : contents;
    return this.byte(id).u32(data.length).bytes(data);
  }

  finish(): Uint8Array<ArrayBuffer> {
    return this.buf.subarray(0, this.length);
  }
}

export interface Section {
  id: number;
  /** Contents, without the id and size. */
  body: Uint8Array;
}

export const SECTION = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
} as const;

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export function isWasm(code: Uint8Array): boolean {
  return code.length >= 4 && HEADER.slice(0, 4).every((b, i) => code[i] === b);
}

/** Splits a module into its sections, checking the header and the order of non-custom sections. */
export function readSections(code: Uint8Array): Section[] {
  if (code.length < 8 || !HEADER.every((b, i) => code[i] === b)) {
    throw new MalformedWasm("not a WebAssembly 1.0 module");
  }
  const r = new Reader(code, 8);
  const sections: Section[] = [];
  let last = 0;
  while (!r.done) {
    const id = r.u8();
    const body = r.take(r.u32());
    if (id !== SECTION.custom) {
      // The data count section (12) sits between the element (9) and code (10) sections.
      const rank = id === SECTION.dataCount ? 9.5 : id;
      if (id > SECTION.dataCount || rank <= last) throw new MalformedWasm(`unexpected section ${id}`);
      last = rank;
    }
    sections.push({ id, body });
  }
  return sections;
}

export function writeModule(sections: Section[]): Uint8Array<ArrayBuffer> {
  const w = new Writer().bytes(Uint8Array.from(HEADER));
  for (const s of sections) w.section(s.id, s.body);
  return w.finish();
}
