// Borsh encoding of the one transaction shape the dev wallet signs (FunctionCall and Transfer actions,
// ed25519 keys). Hand-written because near-api-js's KeyPair pulls secp256k1 and friends into the
// browser bundle (~70 KB); test/web4-unit.test.ts checks these bytes against near-api-js's encoder.

export interface FunctionCallAction {
  type: "FunctionCall";
  params: { methodName: string; args: object; gas: string; deposit: string };
}
export interface TransferAction {
  type: "Transfer";
  params: { deposit: string };
}
export type Action = FunctionCallAction | TransferAction;

export interface TxFields {
  signerId: string;
  /** 32-byte ed25519 public key. */
  publicKey: Uint8Array;
  nonce: bigint;
  receiverId: string;
  actions: Action[];
  /** 32-byte recent block hash. */
  blockHash: Uint8Array;
}

class Writer {
  private buf = new Uint8Array(256);
  private len = 0;
  private reserve(n: number) {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u8(v: number) {
    this.reserve(1);
    this.buf[this.len++] = v;
  }
  u32(v: number) {
    this.uint(BigInt(v), 4);
  }
  /** Little-endian unsigned integer of `size` bytes (u64 = 8, u128 = 16). */
  uint(v: bigint, size: number) {
    if (v < 0n || v >= 1n << BigInt(size * 8)) throw new Error(`integer ${v} does not fit in ${size} bytes`);
    for (let i = 0; i < size; i++) {
      this.u8(Number(v & 0xffn));
      v >>= 8n;
    }
  }
  fixed(bytes: Uint8Array) {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }
  bytes(bytes: Uint8Array) {
    this.u32(bytes.length);
    this.fixed(bytes);
  }
  string(s: string) {
    this.bytes(new TextEncoder().encode(s));
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// Enum indices from nearcore's Action enum.
const ACTION_FUNCTION_CALL = 2;
const ACTION_TRANSFER = 3;
const KEY_ED25519 = 0;

function writeTx(w: Writer, tx: TxFields) {
  if (tx.publicKey.length !== 32 || tx.blockHash.length !== 32)
    throw new Error("bad key or block hash length");
  w.string(tx.signerId);
  w.u8(KEY_ED25519);
  w.fixed(tx.publicKey);
  w.uint(tx.nonce, 8);
  w.string(tx.receiverId);
  w.fixed(tx.blockHash);
  w.u32(tx.actions.length);
  for (const action of tx.actions) {
    if (action.type === "FunctionCall") {
      w.u8(ACTION_FUNCTION_CALL);
      w.string(action.params.methodName);
      w.bytes(new TextEncoder().encode(JSON.stringify(action.params.args)));
      w.uint(BigInt(action.params.gas), 8);
      w.uint(BigInt(action.params.deposit), 16);
    } else {
      w.u8(ACTION_TRANSFER);
      w.uint(BigInt(action.params.deposit), 16);
    }
  }
}

export function encodeTransaction(tx: TxFields): Uint8Array {
  const w = new Writer();
  writeTx(w, tx);
  return w.done();
}

export function encodeSignedTransaction(tx: TxFields, signature: Uint8Array): Uint8Array {
  if (signature.length !== 64) throw new Error("ed25519 signature must be 64 bytes");
  const w = new Writer();
  writeTx(w, tx);
  w.u8(KEY_ED25519);
  w.fixed(signature);
  return w.done();
}
