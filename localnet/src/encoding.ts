// Byte and text encodings used on NEAR's wire: base58 (hashes, keys), base64 (args, state), sha256.
import { createHash } from "node:crypto";
import bs58 from "bs58";

export const base58 = {
  encode: (bytes: Uint8Array): string => bs58.encode(bytes),
  decode: (text: string): Uint8Array => bs58.decode(text),
};

export function sha256(bytes: Uint8Array): Uint8Array {
  return createHash("sha256").update(bytes).digest();
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64"));
}

export function utf8(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "utf8"));
}

/** Maps bytes to a string one char per byte, so contract state keys can be Map keys and sort bytewise. */
export function bytesToKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

export function keyToBytes(key: string): Uint8Array {
  return new Uint8Array(Buffer.from(key, "latin1"));
}

const BIGINT_MARK = "\u0001bigint:";
const BIGINT_PATTERN = /"\\u0001bigint:(\d+)"/g;

/**
 * JSON.stringify that writes BigInt values as bare JSON numbers: nearcore sends u64 fields such as
 * block timestamps as numbers beyond 2^53, and a string would change their JSON type.
 */
export function stringifyJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? `${BIGINT_MARK}${v}` : v));
  return text.replace(BIGINT_PATTERN, "$1");
}
