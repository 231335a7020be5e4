// Conversation escrow. Record key "c" + conversation_id, value compact JSON
// {r: receiver_id, a: amount, t: created_at (ns), f?: refund_amount}. A record with `f` is a
// tombstone: it is never removed, so an id (and any refund signed for it) can be used only once.
import { near } from "near-sdk-js";
import * as events from "./events";
import * as ledger from "./ledger";
import { recoverSigner } from "./signature";
import type { State } from "./state";
import { fail, need, positiveU128, sendNear, u128 } from "./util";

const PREFIX = "c";
const ID_RE = /^[0-9a-f]{64}$/;

interface ConversationRecord {
  r: string;
  a: string;
  t: string;
  f?: string;
}

export interface ConversationView {
  conversation_id: string;
  receiver_id: string;
  amount: string;
  created_at: string;
  status: "open" | "refunded";
  refund_amount?: string;
}

function read(id: string): ConversationRecord | null {
  const raw = near.storageRead(PREFIX + id);
  return raw === null ? null : (JSON.parse(raw) as ConversationRecord);
}

function write(id: string, record: ConversationRecord): void {
  near.storageWrite(PREFIX + id, JSON.stringify(record));
}

/** Bytes of a record at its largest (tombstone, 64-char receiver, 39-digit amounts): clients' estimate. */
export function measureConversationStorage(): bigint {
  const before = near.storageUsage();
  const id = "0".repeat(64);
  const max = "9".repeat(39);
  write(id, { r: "a".repeat(64), a: max, t: "9".repeat(20), f: max });
  const bytes = near.storageUsage() - before;
  near.storageRemove(PREFIX + id);
  return bytes;
}

export function start(state: State, conversationId: unknown, amountArg: unknown): void {
  need(
    typeof conversationId === "string" && ID_RE.test(conversationId),
    "conversation_id must be 64 lowercase hex characters (sha256 of the conversation secret)",
  );
  const amount = positiveU128(amountArg, "amount");
  const attached = near.attachedDeposit();
  need(attached >= 1n, "Requires an attached deposit of 1 yoctoNEAR plus the conversation's storage");
  need(!near.storageHasKey(PREFIX + conversationId), "conversation_id already used");
  // The predecessor, never the signer: a contract the user calls cannot spend the user's tokens (T04).
  const receiverId = near.predecessorAccountId();
  ledger.withdraw(receiverId, amount);

  // Charge the record at its tombstone size (refund_amount has at most as many digits as amount),
  // so the refund later stores nothing the opener has not paid for (T07).
  const created_at = near.blockTimestamp().toString();
  const before = near.storageUsage();
  write(conversationId, { r: receiverId, a: amount.toString(), t: created_at, f: amount.toString() });
  const bytes = near.storageUsage() - before;
  write(conversationId, { r: receiverId, a: amount.toString(), t: created_at });
  const cost = 1n + bytes * near.storageByteCost();
  need(
    attached >= cost,
    `Attach at least ${cost} yoctoNEAR: 1 yoctoNEAR plus ${bytes} bytes of storage for the conversation`,
  );
  sendNear(receiverId, attached - cost);

  state.escrow_total = (BigInt(state.escrow_total) + amount).toString();
  // The escrow is reported as the contract account's balance, so indexers that follow NEP-141
  // events keep the same totals as ft_balance_of.
  events.ftTransfer(receiverId, near.currentAccountId(), amount, `conversation ${conversationId}`);
  events.conversation("conversation_started", {
    conversation_id: conversationId,
    receiver_id: receiverId,
    amount: amount.toString(),
    created_at,
  });
}

export function view(conversationId: unknown): ConversationView | null {
  if (typeof conversationId !== "string" || !ID_RE.test(conversationId)) return null;
  const record = read(conversationId);
  if (record === null) return null;
  return {
    conversation_id: conversationId,
    receiver_id: record.r,
    amount: record.a,
    created_at: record.t,
    status: record.f === undefined ? "open" : "refunded",
    refund_amount: record.f,
  };
}

interface RefundMessage {
  contract_id: string;
  conversation_id: string;
  receiver_id: string;
  refund_amount: string;
}

function parseRefundMessage(refundMessage: unknown): RefundMessage {
  need(typeof refundMessage === "string", "refund_message must be a string");
  let parsed: RefundMessage;
  try {
    parsed = JSON.parse(refundMessage);
  } catch (_) {
    fail("refund_message is not valid JSON");
  }
  need(parsed !== null && typeof parsed === "object", "refund_message must be a JSON object");
  const { contract_id, conversation_id, receiver_id, refund_amount } = parsed;
  need(
    [contract_id, conversation_id, receiver_id, refund_amount].every((v) => typeof v === "string"),
    "refund_message fields contract_id, conversation_id, receiver_id, refund_amount must be strings",
  );
  // Exactly the bytes wire/index.ts encodeRefundMessage produces: no extra keys, order or spacing.
  need(
    JSON.stringify({ contract_id, conversation_id, receiver_id, refund_amount }) === refundMessage,
    'refund_message must be canonical JSON {"contract_id","conversation_id","receiver_id","refund_amount"}',
  );
  return parsed;
}

export function refund(state: State, refundMessage: unknown, signature: unknown): void {
  const msg = parseRefundMessage(refundMessage);
  const here = near.currentAccountId();
  need(msg.contract_id === here, `refund_message is for contract ${msg.contract_id}, not ${here}`);
  const refundAmount = u128(msg.refund_amount, "refund_amount");
  const signer = recoverSigner(refundMessage as string, signature);
  need(state.refund_signers.includes(signer), `signature is not from a configured refund signer (${signer})`);

  const record = read(msg.conversation_id);
  need(record !== null, `conversation ${msg.conversation_id} not found`);
  need(record.f === undefined, `conversation ${msg.conversation_id} was already refunded`);
  need(record.r === msg.receiver_id, "receiver_id does not match the conversation");
  const amount = BigInt(record.a);
  need(refundAmount <= amount, `refund_amount ${refundAmount} exceeds the conversation amount ${amount}`);

  const spent = amount - refundAmount;
  if (refundAmount > 0n) ledger.deposit(record.r, refundAmount);
  if (spent > 0n) ledger.deposit(state.operator_id, spent);
  record.f = refundAmount.toString();
  write(msg.conversation_id, record);
  state.escrow_total = (BigInt(state.escrow_total) - amount).toString();

  const memo = `conversation ${msg.conversation_id}`;
  if (refundAmount > 0n) events.ftTransfer(here, record.r, refundAmount, memo);
  if (spent > 0n) events.ftTransfer(here, state.operator_id, spent, memo);
  events.conversation("conversation_refunded", {
    conversation_id: msg.conversation_id,
    receiver_id: record.r,
    refund_amount: record.f,
    operator_id: state.operator_id,
    operator_amount: spent.toString(),
  });
}
