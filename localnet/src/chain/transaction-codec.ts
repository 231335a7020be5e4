// Decodes Borsh SignedTransaction bytes as near-api-js (5 and 7) and nearcore encode them.
import { base58, sha256 } from "../encoding.js";
import type { AccessKey, Action } from "../vm/types.js";
import { BorshDecodeError, BorshReader } from "./borsh-reader.js";
import { KEY_TYPE_ED25519, publicKeyToString } from "./public-key.js";

/** NEP-366 meta transaction: the inner actions signed by `senderId`, relayed by the tx signer. */
export interface DelegateAction {
  senderId: string;
  receiverId: string;
  actions: Action[];
  nonce: bigint;
  maxBlockHeight: bigint;
  publicKey: string;
  /** Borsh bytes of the DelegateAction, for the signature check. */
  signedBytes: Uint8Array;
  signature: Uint8Array;
}

export type TxAction = Action | { type: "Delegate"; delegate: DelegateAction };

export interface SignedTransaction {
  signerId: string;
  publicKey: string;
  nonce: bigint;
  receiverId: string;
  blockHash: string;
  actions: TxAction[];
  /** base58 sha256 of the Borsh Transaction: what was signed, and the transaction id. */
  hash: string;
  hashBytes: Uint8Array;
  signatureKeyType: number;
  signature: Uint8Array;
  priorityFee?: bigint;
  /** Borsh size of the signed transaction (nearcore's max_transaction_size applies to it). */
  size: number;
}

function readPublicKey(r: BorshReader): string {
  const keyType = r.u8();
  const data = r.fixed(keyType === KEY_TYPE_ED25519 ? 32 : 64);
  return publicKeyToString({ keyType, data });
}

function readAccessKey(r: BorshReader): AccessKey {
  const nonce = r.u64();
  const tag = r.u8();
  if (tag === 1) return { nonce, permission: "FullAccess" };
  if (tag !== 0) throw new BorshDecodeError(`unknown access key permission ${tag}`);
  const allowance = r.option(() => r.u128());
  const receiverId = r.string();
  const methodNames = r.vec(() => r.string());
  return { nonce, permission: { receiverId, methodNames, allowance } };
}

function readAction(r: BorshReader, allowDelegate: boolean): TxAction {
  const tag = r.u8();
  switch (tag) {
    case 0:
      return { type: "CreateAccount" };
    case 1:
      return { type: "DeployContract", code: r.bytesVec() };
    case 2:
      return {
        type: "FunctionCall",
        methodName: r.string(),
        args: r.bytesVec(),
        gas: r.u64(),
        deposit: r.u128(),
      };
    case 3:
      return { type: "Transfer", deposit: r.u128() };
    case 4:
      return { type: "Stake", stake: r.u128(), publicKey: readPublicKey(r) };
    case 5:
      return { type: "AddKey", publicKey: readPublicKey(r), accessKey: readAccessKey(r) };
    case 6:
      return { type: "DeleteKey", publicKey: readPublicKey(r) };
    case 7:
      return { type: "DeleteAccount", beneficiaryId: r.string() };
    case 8: {
      if (!allowDelegate) throw new BorshDecodeError("nested delegate action");
      const start = r.position;
      const senderId = r.string();
      const receiverId = r.string();
      const actions = r.vec(() => readAction(r, false)) as Action[];
      const nonce = r.u64();
      const maxBlockHeight = r.u64();
      const publicKey = readPublicKey(r);
      const signedBytes = r.slice(start, r.position);
      const sigType = r.u8();
      const signature = r.fixed(sigType === KEY_TYPE_ED25519 ? 64 : 65);
      return {
        type: "Delegate",
        delegate: { senderId, receiverId, actions, nonce, maxBlockHeight, publicKey, signedBytes, signature },
      };
    }
    default:
      throw new BorshDecodeError(`unsupported action ${tag}`);
  }
}

export function decodeSignedTransaction(bytes: Uint8Array): SignedTransaction {
  const r = new BorshReader(bytes);
  // TransactionV1 is prefixed with the byte 1; a V0 transaction starts with the u32 length of the
  // signer id, whose first byte is never 1 for a valid account id (length 1 is invalid, 257 too long).
  const isV1 = bytes[0] === 1;
  if (isV1) r.u8();
  const signerId = r.string();
  const publicKey = readPublicKey(r);
  const nonce = r.u64();
  const receiverId = r.string();
  const blockHash = base58.encode(r.fixed(32));
  const actions = r.vec(() => readAction(r, true));
  const priorityFee = isV1 ? r.u64() : undefined;
  const txEnd = r.position;
  const signatureKeyType = r.u8();
  const signature = r.fixed(signatureKeyType === KEY_TYPE_ED25519 ? 64 : 65);
  if (!r.done) throw new BorshDecodeError("trailing bytes after signed transaction");
  const hashBytes = sha256(bytes.subarray(0, txEnd));
  return {
    signerId,
    publicKey,
    nonce,
    receiverId,
    blockHash,
    actions,
    hash: base58.encode(hashBytes),
    hashBytes,
    signatureKeyType,
    signature,
    priorityFee,
    size: bytes.length,
  };
}

/** sha256 of the NEP-461 prefixed delegate action, which is what a SignedDelegate's signature covers. */
export function delegateActionHash(signedBytes: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, 2 ** 30 + 366, true);
  return sha256(Buffer.concat([prefix, signedBytes]));
}
