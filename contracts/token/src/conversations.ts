// Conversation escrow: open (debits the predecessor, T04), signed refund (the proxy's secp256k1
// signature over the v2 message), reclaim after expiry (no operator needed, T17), and the views.
// Records and the per-account index live in records.ts.
import { near } from "near-sdk-js";
import * as events from "./events";
import * as ledger from "./ledger";
import * as records from "./records";
import { parseRefundMessage } from "./refund-message";
import { recoverSigner } from "./signature";
import type { ExpiryBounds, State } from "./state";
import { accountId, fail, need, positiveU128, sendNear, u128 } from "./util";

const ID_RE = /^[0-9a-f]{64}$/;
const NS_PER_SEC = 1_000_000_000n;
export const MAX_LIST_LIMIT = 100;
/** The longest lifetime an owner may allow: a user's tokens never wait longer than a year. */
export const MAX_EXPIRY_SECS = 365 * 24 * 3600;
export const DEFAULT_EXPIRY: ExpiryBounds = {
  min_secs: 3600,
  default_secs: 30 * 24 * 3600,
  max_secs: 90 * 24 * 3600,
};

function conversationId(value: unknown): string {
  need(
    typeof value === "string" && ID_RE.test(value),
    "conversation_id must be 64 lowercase hex characters: hex(sha256(utf8(secret)))",
  );
  return value;
}

const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

export function validExpiryBounds(bounds: unknown): ExpiryBounds {
  const b = (bounds ?? {}) as Record<string, unknown>;
  const secs = (key: keyof ExpiryBounds) => {
    const v = b[key];
    need(
      typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= MAX_EXPIRY_SECS,
      `${key} must be a whole number of seconds from 1 to ${MAX_EXPIRY_SECS} (365 days)`,
    );
    return v;
  };
  const out = { min_secs: secs("min_secs"), default_secs: secs("default_secs"), max_secs: secs("max_secs") };
  need(
    out.min_secs <= out.default_secs && out.default_secs <= out.max_secs,
    "expiry bounds must satisfy min_secs <= default_secs <= max_secs",
  );
  return out;
}

function lifetime(state: State, requested: unknown): number {
  const { min_secs, default_secs, max_secs } = state.conversation_expiry;
  if (requested == null) return default_secs;
  need(
    typeof requested === "number" &&
      Number.isInteger(requested) &&
      requested >= min_secs &&
      requested <= max_secs,
    `expires_in_secs must be a whole number of seconds from ${min_secs} to ${max_secs} (get_config.conversation_expiry)`,
  );
  return requested;
}

export function start(
  state: State,
  args: { conversation_id: unknown; amount: unknown; expires_in_secs?: unknown },
): void {
  const id = conversationId(args.conversation_id);
  const amount = positiveU128(args.amount, "amount");
  const secs = lifetime(state, args.expires_in_secs);
  const attached = near.attachedDeposit();
  need(attached >= 1n, "Requires an attached deposit of 1 yoctoNEAR plus the conversation's storage");
  need(!records.recordExists(id), `conversation_id ${id} was already used`);
  // The predecessor, never the signer: a contract the user calls cannot spend the user's tokens (T04).
  const opener = near.predecessorAccountId();
  ledger.withdraw(opener, amount);

  const created = near.blockTimestamp();
  const record: records.ConversationRecord = {
    r: opener,
    a: amount.toString(),
    t: created.toString(),
    x: (created + BigInt(secs) * NS_PER_SEC).toString(),
  };
  // Measure every byte this call stores, with the record at its tombstone size (the refund amount
  // has at most as many digits as the deposit), so closing it later stores nothing unpaid (T07).
  const before = near.storageUsage();
  records.writeRecord(id, { ...record, s: "r", f: record.a });
  records.addToIndex(opener, id);
  const bytes = near.storageUsage() - before;
  records.writeRecord(id, record);
  const cost = 1n + bytes * near.storageByteCost();
  need(
    attached >= cost,
    `Attach at least ${cost} yoctoNEAR: 1 yoctoNEAR plus ${bytes} bytes of storage for the conversation`,
  );
  sendNear(opener, attached - cost);

  state.escrow_total = (BigInt(state.escrow_total) + amount).toString();
  // The escrow is reported as the contract account's balance, so indexers that follow NEP-141
  // events keep the same totals as ft_balance_of.
  events.ftTransfer(opener, near.currentAccountId(), amount, `conversation ${id}`);
  events.conversation("conversation_started", {
    conversation_id: id,
    receiver_id: opener,
    deposit: record.a,
    created_at: record.t,
    expires_at: record.x,
  });
}

export function view(state: State, id: unknown): records.ConversationView | null {
  if (typeof id !== "string" || !ID_RE.test(id)) return null;
  const record = records.readRecord(id);
  return record === null ? null : records.toView(id, record, state.conversation_expiry.default_secs);
}

/** Newest first; `before` is the `index` to continue below (the previous page's `next`). */
export function list(state: State, args: { account_id: unknown; before?: unknown; limit?: unknown }) {
  const account = accountId(args.account_id, "account_id");
  const total = records.countOf(account);
  const limit = args.limit == null ? 20 : args.limit;
  need(
    typeof limit === "number" && Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIST_LIMIT,
    `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`,
  );
  const before = args.before == null ? total : args.before;
  need(
    typeof before === "number" && Number.isInteger(before) && before >= 0,
    "before must be a whole number (the `next` of the previous page)",
  );
  const conversations: (records.ConversationView & { index: number })[] = [];
  let index = Math.min(before, total) - 1;
  for (; index >= 0 && conversations.length < limit; index--) {
    const id = records.indexed(account, index) as string;
    const record = records.readRecord(id) as records.ConversationRecord;
    conversations.push({ index, ...records.toView(id, record, state.conversation_expiry.default_secs) });
  }
  const next = index >= 0 ? index + 1 : null;
  return { account_id: account, total, conversations, next };
}

/** Reads the record of `id` and requires it to be open; returns it. */
function openRecord(id: string): records.ConversationRecord {
  const record = records.readRecord(id);
  need(record !== null, `conversation ${id} not found`);
  need(record.s !== "r", `conversation ${id} was already refunded`);
  need(record.s !== "x", `conversation ${id} was already reclaimed by its opener after expiry`);
  return record;
}

function close(state: State, id: string, record: records.ConversationRecord, end: "r" | "x", back: bigint) {
  record.s = end;
  record.f = back.toString();
  records.writeRecord(id, record);
  state.escrow_total = (BigInt(state.escrow_total) - BigInt(record.a)).toString();
}

function payable(account: string): void {
  need(
    ledger.isRegistered(account),
    `${account} is no longer registered with the token: register again (storage_deposit), then retry`,
  );
}

export function refund(state: State, refundMessage: unknown, signature: unknown): void {
  const msg = parseRefundMessage(refundMessage);
  const here = near.currentAccountId();
  need(msg.contract_id === here, `refund_message is for contract ${msg.contract_id}, not ${here}`);
  need(
    msg.deployment === state.deployment,
    `refund_message is for deployment ${msg.deployment}, not ${state.deployment}: it was signed for an earlier deployment of ${here}`,
  );
  const refundAmount = u128(msg.refund_amount, "refund_amount");
  const signer = recoverSigner(refundMessage as string, signature);
  need(state.refund_signers.includes(signer), `signature is not from a configured refund signer (${signer})`);

  const id = conversationId(msg.conversation_id);
  const record = openRecord(id);
  need(record.r === msg.receiver_id, "receiver_id does not match the conversation");
  need(
    record.a === msg.deposit && record.t === msg.created_at,
    `refund_message names another escrow (deposit ${msg.deposit}, created_at ${msg.created_at}) than conversation ${id} (deposit ${record.a}, created_at ${record.t})`,
  );
  const deposit = BigInt(record.a);
  need(refundAmount <= deposit, `refund_amount ${refundAmount} exceeds the conversation deposit ${deposit}`);
  const operator = state.operator_id;
  payable(record.r);
  const spent = deposit - refundAmount;
  if (refundAmount > 0n) ledger.deposit(record.r, refundAmount);
  if (spent > 0n) ledger.deposit(operator, spent);
  close(state, id, record, "r", refundAmount);

  const memo = `conversation ${id}`;
  if (refundAmount > 0n) events.ftTransfer(here, record.r, refundAmount, memo);
  if (spent > 0n) events.ftTransfer(here, operator, spent, memo);
  events.conversation("conversation_refunded", {
    conversation_id: id,
    receiver_id: record.r,
    refund_amount: record.f,
    operator_id: operator,
    operator_amount: spent.toString(),
  });
}

/** After expires_at, anyone may return the whole unrefunded deposit to the opener (T17). */
export function reclaim(state: State, idArg: unknown): string {
  const id = conversationId(idArg);
  const record = openRecord(id);
  const expires = records.expiresAt(record, state.conversation_expiry.default_secs);
  const now = near.blockTimestamp();
  if (now < expires) {
    const wait = (expires - now + NS_PER_SEC - 1n) / NS_PER_SEC;
    fail(
      `conversation ${id} expires at ${iso(expires)} (in ${wait} s): until then only a refund signed by the proxy can close it`,
    );
  }
  payable(record.r);
  const deposit = BigInt(record.a);
  ledger.deposit(record.r, deposit);
  close(state, id, record, "x", deposit);
  events.ftTransfer(near.currentAccountId(), record.r, deposit, `conversation ${id}`);
  events.conversation("conversation_reclaimed", {
    conversation_id: id,
    receiver_id: record.r,
    amount: record.a,
  });
  return record.a;
}
