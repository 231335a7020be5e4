// The string <-> byte conversions of near's QuickJS fork (2021-03-27), the ones near-sdk-js's builder.c
// applies when a string crosses to the host: hand-written because they are not UTF-8 as Node's
// TextEncoder/TextDecoder do it (lone surrogates, invalid sequences, "raw" latin1), and a contract
// must get on localnet exactly the bytes and strings it gets on chain. Pure functions over JS strings
// (UTF-16 code units); env-bindings.ts moves the strings in and out of the VM without loss.
// Pinned by test/localnet-vm-strings.test.ts, which checks them against QuickJS's C source rules.

const utf8Strict = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();
/** A UTF-16 code unit that is half of a surrogate pair, unpaired (a `u` regexp sees pairs as one). */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** True when `s` has no lone surrogate, i.e. its UTF-8 form is valid UTF-8. */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/**
 * JS_ToCStringLen: UTF-8, except that a lone surrogate becomes its own 3-byte sequence (what
 * TextEncoder would replace with U+FFFD). nearcore then refuses such bytes as BadUTF8 where it
 * decodes them (logs, panics, account ids, method names).
 */
export function toCString(s: string): Uint8Array {
  if (isWellFormed(s)) return utf8Encoder.encode(s);
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const c1 = s.charCodeAt(i + 1);
      if (c1 >= 0xdc00 && c1 < 0xe000) {
        c = (((c & 0x3ff) << 10) | (c1 & 0x3ff)) + 0x10000;
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/**
 * JS_NewStringLen: UTF-8 to a string the way QuickJS 2021 decodes it. Valid UTF-8 decodes as
 * usual; otherwise encoded surrogates become lone surrogates, 5- and 6-byte forms are read (and
 * above U+10FFFF replaced), and an invalid sequence becomes one U+FFFD that swallows the bytes up to
 * the next lead byte (cutils.c unicode_from_utf8 and its caller, quirks included).
 */
export function fromCString(bytes: Uint8Array): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    // fall through to QuickJS's own rules
  }
  let out = "";
  let p = 0;
  const end = bytes.length;
  const isContinuation = (b: number | undefined) => b !== undefined && b >= 0x80 && b < 0xc0;
  while (p < end) {
    const b = bytes[p] as number;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      p++;
      continue;
    }
    const decoded = decodeSequence(bytes, p);
    if (decoded && decoded.c <= 0x10ffff) {
      out += decoded.c < 0x10000 ? String.fromCharCode(decoded.c) : String.fromCodePoint(decoded.c);
      p = decoded.next;
    } else {
      out += "\uFFFD";
      while (p < end && isContinuation(bytes[p])) p++;
      if (p < end) {
        p++;
        while (p < end && isContinuation(bytes[p])) p++;
      }
    }
  }
  return out;
}

const MIN_CODE = [0x80, 0x800, 0x10000, 0x00200000, 0x04000000];
const FIRST_MASK = [0x1f, 0xf, 0x7, 0x3, 0x1];

/** cutils.c unicode_from_utf8: one multi-byte sequence at `p`, or undefined when invalid. */
function decodeSequence(bytes: Uint8Array, p: number): { c: number; next: number } | undefined {
  const lead = bytes[p] as number;
  const extra =
    lead >= 0xfe
      ? 0
      : lead >= 0xfc
        ? 5
        : lead >= 0xf8
          ? 4
          : lead >= 0xf0
            ? 3
            : lead >= 0xe0
              ? 2
              : lead >= 0xc0
                ? 1
                : 0;
  if (extra === 0 || extra > bytes.length - p - 1) return undefined;
  let c = lead & (FIRST_MASK[extra - 1] as number);
  for (let i = 1; i <= extra; i++) {
    const b = bytes[p + i] as number;
    if (b < 0x80 || b >= 0xc0) return undefined;
    // 6-byte forms reach 2^31: stay exact with multiplication rather than a 32-bit shift.
    c = c * 64 + (b & 0x3f);
  }
  if (c < (MIN_CODE[extra - 1] as number)) return undefined;
  return { c, next: p + extra + 1 };
}

/**
 * JS_ToCStringLenRaw (near's addition): a string QuickJS stores as 8-bit (every code unit ≤ 0xFF) is
 * its code units as bytes; any other string gives nothing (NULL, length 0), hence empty bytes.
 */
export function toRawLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return new Uint8Array(0);
    out[i] = c;
  }
  return out;
}

/** JS_NewStringLenRaw: one code unit per byte. */
export function fromRawLatin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/**
 * C `strncpy(dst, src, len)` as builder.c uses it to build a panic message from an uncaught
 * exception: the bytes up to the first NUL, then zeros to the same length.
 */
export function strncpy(bytes: Uint8Array): Uint8Array {
  const nul = bytes.indexOf(0);
  if (nul < 0) return bytes;
  const out = new Uint8Array(bytes.length);
  out.set(bytes.subarray(0, nul));
  return out;
}
