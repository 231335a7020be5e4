// A conversation's ledger as both stores write it: amounts as base-10 text (u128 fits neither a JSON
// number nor SQLite's int64), read back as BigInt here, once, so the two stores cannot drift.
import type { ConversationState, ConversationStatus, EscrowTimes, Payout } from "./types.js";

export interface StoredLedger {
  receiver_id: string;
  deposit: string;
  spent: string;
  reserved: string;
  status: ConversationStatus;
  created_at: number;
}

/** The stored ledger as state; `extra` holds what each store keeps in its own form. */
export function stateOf(
  conversationId: string,
  stored: StoredLedger,
  extra: {
    escrow?: { created_at: string; expires_at: string };
    active_at?: number;
    payout?: Payout | undefined;
  },
): ConversationState {
  const escrow: EscrowTimes | undefined = extra.escrow && {
    created_at: BigInt(extra.escrow.created_at),
    expires_at: BigInt(extra.escrow.expires_at),
  };
  return {
    conversation_id: conversationId,
    receiver_id: stored.receiver_id,
    deposit: BigInt(stored.deposit),
    spent: BigInt(stored.spent),
    reserved: BigInt(stored.reserved),
    status: stored.status,
    created_at: stored.created_at,
    ...(escrow ? { escrow } : {}),
    ...(extra.active_at !== undefined ? { active_at: extra.active_at } : {}),
    ...(extra.payout ? { payout: extra.payout } : {}),
  };
}
