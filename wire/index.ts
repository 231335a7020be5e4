// Wire types and parsers shared by the contract, the proxy, the web app, the scripts and the tests
// (`#wire`). Dependency-free on purpose: no ethers, no node: imports, so the contract (near-sdk-js)
// and the web app (Vite) can import its types, type-only. Hashing and signing are in crypto.ts
// (`#wire/crypto`). Amounts are base-10 U128 strings on the wire, BigInt in code; times are
// nanoseconds since the Unix epoch as base-10 strings (NEAR block timestamps).

/**
 * The message the proxy signs and `refund_unspent` verifies (v2). Key order is part of the format.
 * `deployment` (get_config) binds this deployment of `contract_id`; `deposit` and `created_at`
 * (view_ai_conversation) bind the escrow, so no message pays on another deployment or escrow.
 */
export interface RefundMessage {
  contract_id: string;
  deployment: string;
  conversation_id: string;
  receiver_id: string;
  deposit: string;
  created_at: string;
  refund_amount: string;
}

export interface SignedRefund {
  refund_message: string;
  /** 0x-prefixed 65-byte secp256k1 signature (r || s || v, v = 27/28) over the EIP-191 personal message. */
  signature: string;
}

/**
 * `expired`: still open, past `expires_at`: the opener may reclaim it, a signed refund still works.
 * `refunded` and `reclaimed` are final (the record is a tombstone).
 */
export type ConversationStatus = "open" | "expired" | "refunded" | "reclaimed";

/** `view_ai_conversation` result, and each entry of `list_ai_conversations`. */
export interface ConversationView {
  conversation_id: string;
  /** The opener, who gets refunds and reclaims. */
  receiver_id: string;
  deposit: string;
  created_at: string;
  expires_at: string;
  status: ConversationStatus;
  /** Paid back to the opener: the signed refund amount, or the whole deposit when reclaimed. */
  refund_amount?: string;
}

/** `list_ai_conversations({account_id, before?, limit?})`: newest first. */
export interface ConversationPage {
  account_id: string;
  /** How many conversations the account has opened in all. */
  total: number;
  conversations: (ConversationView & { index: number })[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  next: number | null;
}

/** What `get_config` shows of the escrow (the rest of its fields are the owner's settings). */
export interface EscrowConfig {
  deployment: string;
  operator_id: string;
  refund_signers: string[];
  conversation_deposit_max: string;
  conversation_expiry: { min_secs: number; default_secs: number; max_secs: number };
}

const U128_MAX = (1n << 128n) - 1n;
const U64_MAX = (1n << 64n) - 1n;

/** Parses a base-10 U128 string exactly; rejects signs, fractions, exponents, leading zeros and overflow. */
export function parseU128(value: string, what = "amount"): bigint {
  if (typeof value !== "string" || !/^(0|[1-9][0-9]*)$/.test(value)) {
    throw new Error(`${what} must be a base-10 integer string, got ${JSON.stringify(value)}`);
  }
  const n = BigInt(value);
  if (n > U128_MAX) throw new Error(`${what} overflows u128`);
  return n;
}

/** A U64 timestamp (nanoseconds) as the contract writes it. */
export function parseTimestamp(value: string, what = "timestamp"): bigint {
  const n = parseU128(value, what);
  if (n > U64_MAX) throw new Error(`${what} overflows u64`);
  return n;
}

export function isConversationId(id: string): boolean {
  return /^[0-9a-f]{64}$/.test(id);
}

/** Canonical JSON: fixed key order, no whitespace; rejects what the contract would reject. */
export function encodeRefundMessage(message: RefundMessage): string {
  const { contract_id, deployment, conversation_id, receiver_id, deposit, created_at, refund_amount } =
    message;
  if (!/^[0-9a-f]{32}$/.test(deployment ?? ""))
    throw new Error(`deployment must be 32 lowercase hex characters (get_config.deployment)`);
  if (!isConversationId(conversation_id)) throw new Error("conversation_id must be 64 lowercase hex");
  const escrow = parseU128(deposit, "deposit");
  parseTimestamp(created_at, "created_at");
  if (parseU128(refund_amount, "refund_amount") > escrow)
    throw new Error(`refund_amount ${refund_amount} exceeds the deposit ${deposit}`);
  return JSON.stringify({
    contract_id,
    deployment,
    conversation_id,
    receiver_id,
    deposit,
    created_at,
    refund_amount,
  });
}
