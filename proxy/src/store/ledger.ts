// The ledger's arithmetic, once: both stores call these inside their own atomic step (an SQLite
// IMMEDIATE transaction, a JetStream compare-and-set), so `0 <= spent + reserved <= deposit` is one
// rule with one implementation. Pure: numbers in, numbers out.
import type { ConversationStatus } from "./types.js";

export interface Balance {
  deposit: bigint;
  spent: bigint;
  reserved: bigint;
  status: ConversationStatus;
}

export type ReserveDecision =
  | { ok: true; reserved: bigint }
  | { ok: false; reason: "closed" | "insufficient"; available: bigint };

/** Reserve `amount` if the conversation is open and can still pay for it. */
export function decideReserve(balance: Balance, amount: bigint): ReserveDecision {
  const free = balance.deposit - balance.spent - balance.reserved;
  if (balance.status !== "open") return { ok: false, reason: "closed", available: free };
  if (amount < 0n || amount > free) return { ok: false, reason: "insufficient", available: free };
  return { ok: true, reserved: balance.reserved + amount };
}

export interface SettleDecision {
  /** What moves to spent: the cost, but never more than the reservation plus the unreserved balance. */
  charged: bigint;
  spent: bigint;
  reserved: bigint;
}

/**
 * Close a reservation of `amount` at `cost`. Usage above the reservation (an overage, counted by the
 * relay) is collected only from the unreserved balance; a negative cost is 0.
 */
export function decideSettle(balance: Balance, amount: bigint, cost: bigint): SettleDecision {
  const free = balance.deposit - balance.spent - balance.reserved;
  const want = cost < 0n ? 0n : cost;
  const cap = amount + free;
  const charged = want < cap ? want : cap;
  return { charged, spent: balance.spent + charged, reserved: balance.reserved - amount };
}
