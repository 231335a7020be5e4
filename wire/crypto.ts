// Hashing and signing of the wire format (`#wire/crypto`), for Node: node:crypto and ethers. The
// contract verifies with near.ecrecover and the web app hashes with WebCrypto instead, so neither
// imports this file.
import { createHash } from "node:crypto";
import { getAddress, hashMessage, verifyMessage, type Wallet } from "ethers";
import { encodeRefundMessage, type RefundMessage, type SignedRefund } from "./index.js";

/**
 * conversation_id = hex(sha256(utf8(secret))): the secret is the API key string as typed (the web
 * app and the CLI draw 32 random bytes and write them as 64 hex characters), hashed as text.
 */
export function conversationIdOf(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export async function signRefund(message: RefundMessage, signer: Wallet): Promise<SignedRefund> {
  const refund_message = encodeRefundMessage(message);
  return { refund_message, signature: await signer.signMessage(refund_message) };
}

/** Off-chain check of a signed refund (the contract does the same with near.ecrecover). */
export function refundSignerAddress(signed: SignedRefund): string {
  return getAddress(verifyMessage(signed.refund_message, signed.signature));
}

/** The 32-byte digest the contract hashes and recovers from: keccak256("\x19Ethereum Signed Message:\n" + len + msg). */
export function refundDigest(refundMessage: string): string {
  return hashMessage(refundMessage);
}
