// Wire types shared by the proxy, the scripts and the tests (the contract re-implements the
// parsing side with near-sdk-js only). Amounts are base-10 U128 strings on the wire, BigInt in code.
import { getAddress, hashMessage, verifyMessage, type Wallet } from "ethers";

/** The message the proxy signs and `refund_unspent` verifies. Key order is part of the format. */
export interface RefundMessage {
  contract_id: string;
  conversation_id: string;
  receiver_id: string;
  refund_amount: string;
}

export interface SignedRefund {
  refund_message: string;
  /** 0x-prefixed 65-byte secp256k1 signature (r || s || v, v = 27/28) over the EIP-191 personal message. */
  signature: string;
}

/** `view_ai_conversation` result. */
export interface ConversationView {
  conversation_id: string;
  receiver_id: string;
  amount: string;
  created_at: string;
  status: "open" | "refunded";
  refund_amount?: string;
}

const U128_MAX = (1n << 128n) - 1n;

/** Parses a base-10 U128 string exactly; rejects signs, fractions, exponents, leading zeros and overflow. */
export function parseU128(value: string, what = "amount"): bigint {
  if (typeof value !== "string" || !/^(0|[1-9][0-9]*)$/.test(value)) {
    throw new Error(`${what} must be a base-10 integer string, got ${JSON.stringify(value)}`);
  }
  const n = BigInt(value);
  if (n > U128_MAX) throw new Error(`${what} overflows u128`);
  return n;
}

export function isConversationId(id: string): boolean {
  return /^[0-9a-f]{64}$/.test(id);
}

/** Canonical JSON: fixed key order, no whitespace. */
export function encodeRefundMessage(message: RefundMessage): string {
  const { contract_id, conversation_id, receiver_id, refund_amount } = message;
  parseU128(refund_amount, "refund_amount");
  return JSON.stringify({ contract_id, conversation_id, receiver_id, refund_amount });
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
