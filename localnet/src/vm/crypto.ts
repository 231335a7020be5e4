// Hash and signature host functions with nearcore's input conventions.
import { createHash, createPublicKey, verify } from "node:crypto";
import { bn254 } from "@noble/curves/bn254.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { ripemd160 as nobleRipemd160 } from "@noble/hashes/legacy.js";
import { keccak_256, keccak_512 } from "@noble/hashes/sha3.js";
import { HostError } from "./errors.js";

export const sha256 = (data: Uint8Array): Uint8Array =>
  new Uint8Array(createHash("sha256").update(data).digest());
export const keccak256 = (data: Uint8Array): Uint8Array => keccak_256(data);
export const keccak512 = (data: Uint8Array): Uint8Array => keccak_512(data);
export const ripemd160 = (data: Uint8Array): Uint8Array => nobleRipemd160(data);

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow.
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** 64-byte signature, 32-byte key (lengths checked by the caller); false for any invalid input. */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  // nearcore keeps ed25519-dalek 1's sanity check on the signature's last byte.
  if (((signature[63] as number) & 0b1110_0000) !== 0) return false;
  try {
    const key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]),
      format: "der",
      type: "spki",
    });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

const SECP256K1_N = secp256k1.Point.CURVE().n;
const HALF_N = SECP256K1_N >> 1n;

function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/**
 * nearcore's ecrecover: 32-byte hash, 64-byte r||s, v in {0,1}. Malformed input is a host error;
 * a signature that does not recover (or is high-s with the malleability flag) returns null.
 */
export function ecrecover(
  hash: Uint8Array,
  sig: Uint8Array,
  v: bigint,
  malleabilityFlag: bigint,
): Uint8Array | null {
  if (hash.length !== 32)
    throw new HostError("ECRecoverError", { msg: `Invalid hash length: ${hash.length}` });
  if (sig.length !== 64)
    throw new HostError("ECRecoverError", { msg: `Invalid signature length: ${sig.length}` });
  if (v > 3n)
    throw new HostError("ECRecoverError", {
      msg: `V recovery byte 0 through 3 are valid but was provided ${v}`,
    });
  if (malleabilityFlag > 1n) {
    throw new HostError("ECRecoverError", {
      msg: `Malleability flag needs to be 0 or 1, but is instead ${malleabilityFlag}`,
    });
  }
  const r = bytesToBigInt(sig.subarray(0, 32));
  const s = bytesToBigInt(sig.subarray(32, 64));
  if (r === 0n || s === 0n || r >= SECP256K1_N || s >= SECP256K1_N) return null;
  if (malleabilityFlag === 1n && s > HALF_N) return null;
  try {
    const point = secp256k1.Signature.fromBytes(sig, "compact")
      .addRecoveryBit(Number(v))
      .recoverPublicKey(hash);
    return point.toBytes(false).subarray(1);
  } catch {
    return null;
  }
}

// alt_bn128 with NEAR's encoding: little-endian 32-byte field elements; G1 = x||y (64 bytes).
const FIELD_BYTES = 32;

function leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

function bigIntToLe(n: bigint, out: Uint8Array, offset: number): void {
  let v = n;
  for (let i = 0; i < FIELD_BYTES; i++) {
    out[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

type G1 = ReturnType<typeof bn254.G1.Point.fromAffine>;

function readG1(bytes: Uint8Array): G1 {
  const x = leToBigInt(bytes.subarray(0, FIELD_BYTES));
  const y = leToBigInt(bytes.subarray(FIELD_BYTES, 2 * FIELD_BYTES));
  if (x === 0n && y === 0n) return bn254.G1.Point.ZERO;
  try {
    const p = bn254.G1.Point.fromAffine({ x, y });
    p.assertValidity();
    return p;
  } catch {
    throw new HostError("AltBn128InvalidInput", { msg: "invalid g1" });
  }
}

function writeG1(p: G1): Uint8Array {
  const out = new Uint8Array(2 * FIELD_BYTES);
  if (p.is0()) return out;
  const { x, y } = p.toAffine();
  bigIntToLe(x, out, 0);
  bigIntToLe(y, out, FIELD_BYTES);
  return out;
}

function chunks(data: Uint8Array, size: number): Uint8Array[] {
  if (data.length % size !== 0) {
    throw new HostError("AltBn128InvalidInput", {
      msg: `slice of size ${data.length} cannot be split into elements of size ${size}`,
    });
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** Input: (G1, scalar LE) pairs of 96 bytes. */
export function altBn128G1Multiexp(data: Uint8Array): { result: Uint8Array; elements: number } {
  const items = chunks(data, 96);
  let acc = bn254.G1.Point.ZERO;
  for (const item of items) {
    const scalar = leToBigInt(item.subarray(64, 96)) % bn254.fields.Fr.ORDER;
    const p = readG1(item.subarray(0, 64));
    if (scalar !== 0n && !p.is0()) acc = acc.add(p.multiply(scalar));
  }
  return { result: writeG1(acc), elements: items.length };
}

/** Input: (sign byte, G1) of 65 bytes; sign 1 negates the point. */
export function altBn128G1Sum(data: Uint8Array): { result: Uint8Array; elements: number } {
  const items = chunks(data, 65);
  let acc = bn254.G1.Point.ZERO;
  for (const item of items) {
    const sign = item[0];
    if (sign !== 0 && sign !== 1) throw new HostError("AltBn128InvalidInput", { msg: "invalid bool" });
    const p = readG1(item.subarray(1));
    acc = sign === 1 ? acc.subtract(p) : acc.add(p);
  }
  return { result: writeG1(acc), elements: items.length };
}

/** Input: (G1, G2) pairs of 192 bytes; G2 = x.c0||x.c1||y.c0||y.c1. True when the product of pairings is 1. */
export function altBn128PairingCheck(data: Uint8Array): { ok: boolean; elements: number } {
  const items = chunks(data, 192);
  const pairs = items.map((item) => {
    const g1 = readG1(item.subarray(0, 64));
    const f = (i: number) => leToBigInt(item.subarray(64 + i * 32, 96 + i * 32));
    const { Fp2 } = bn254.fields;
    const x = Fp2.create({ c0: f(0), c1: f(1) });
    const y = Fp2.create({ c0: f(2), c1: f(3) });
    let g2: ReturnType<typeof bn254.G2.Point.fromAffine>;
    try {
      g2 = Fp2.is0(x) && Fp2.is0(y) ? bn254.G2.Point.ZERO : bn254.G2.Point.fromAffine({ x, y });
      g2.assertValidity();
    } catch {
      throw new HostError("AltBn128InvalidInput", { msg: "invalid g2" });
    }
    return { g1, g2 };
  });
  const nonTrivial = pairs.filter((p) => !p.g1.is0() && !p.g2.is0());
  if (nonTrivial.length === 0) return { ok: true, elements: items.length };
  const gt = bn254.pairingBatch(nonTrivial);
  return { ok: bn254.fields.Fp12.eql(gt, bn254.fields.Fp12.ONE), elements: items.length };
}
