// The conversation ledger. Small, async and engine-neutral on purpose: the embedded SQLite store and
// the NATS JetStream KV store (compare-and-set per conversation key) implement it.
// Invariant every implementation keeps, atomically per conversation: 0 <= spent + reserved <= deposit
// (the arithmetic is ledger.ts, shared). A store belongs to one contract (T19) and holds the leases
// that keep replica identities unique (T20).
import type { SignedRefund } from "#wire";

export type ConversationStatus = "open" | "closed";

/** The on-chain escrow the ledger meters, read at first sight: refunds are signed for exactly it. */
export interface EscrowTimes {
  /** Nanoseconds since the Unix epoch, as the contract records them. */
  created_at: bigint;
  /** After this the opener can reclaim the whole deposit: the operator must be paid before. */
  expires_at: bigint;
}

export interface ConversationState {
  conversation_id: string;
  receiver_id: string;
  /** The escrowed amount read from the chain (token base units). */
  deposit: bigint;
  /** Settled charges. */
  spent: bigint;
  /** Sum of open reservations. */
  reserved: bigint;
  /** `closed`: a refund was requested; no new reservations, open ones may still settle. */
  status: ConversationStatus;
  created_at: number;
  /** Absent in ledgers written before escrow v2 (the refund then reads the chain). */
  escrow?: EscrowTimes;
  /**
   * The idle clock (ms): the last reservation, settle or signed refund; absent in ledgers written
   * before settlement (created_at stands in).
   */
  active_at?: number;
  /** What the operator's settlement did about this conversation on chain (settlement/). */
  payout?: Payout;
}

/**
 * The operator's settlement of one conversation, kept in its ledger record so every step is one
 * atomic update beside the refund it submits. `claimed` and `submitted` are in progress; the others
 * are final and take the conversation off the settlement work list.
 */
export type PayoutState =
  /** The worker took it: closing, signing, or a new transaction is needed (the last one cannot land). */
  | "claimed"
  /** A signed refund_unspent transaction is stored and may be on its way: it is re-sent as is. */
  | "submitted"
  /** Final: the operator's transaction paid it. */
  | "settled"
  /** Final: someone else (the opener, with a refund the proxy signed) submitted it first. */
  | "refunded"
  /** Final: the opener reclaimed the whole deposit after expiry; what was spent is lost revenue. */
  | "reclaimed"
  /** Final: spent less than settle.min_spent, left to its opener; closed before expiry. */
  | "skipped";

export const FINAL_PAYOUT_STATES: readonly PayoutState[] = ["settled", "refunded", "reclaimed", "skipped"];

export interface Payout {
  state: PayoutState;
  /** What made the worker take it. */
  reason: "idle" | "expiry";
  /** Tries that ended in an error to retry. */
  attempts: number;
  /** ms: no new try before (the backoff after a failure). */
  next_attempt_at?: number;
  last_error?: string;
  /** `submitted`: the signed transaction (base64 borsh), its hash and the gas it attaches. */
  tx?: { hash: string; signed: string; gas_tgas: number };
  /** Gas for the next transaction (raised after a gas failure). */
  gas_tgas?: number;
  /** Final: token units the chain paid back to the opener and to the operator. */
  refund_amount?: string;
  operator_amount?: string;
  /** Final: the ledger's spent when it ended (lost revenue when reclaimed). */
  spent?: string;
  /** Final `settled`: the hash of the operator's transaction that paid. */
  tx_hash?: string;
  updated_at: number;
}

export const isFinalPayout = (p: Payout | undefined): boolean =>
  p !== undefined && FINAL_PAYOUT_STATES.includes(p.state);

export interface NewConversation {
  conversation_id: string;
  receiver_id: string;
  deposit: bigint;
  /** Always set from the chain view; optional only so ledger tests can leave it out. */
  escrow?: EscrowTimes;
}

export interface Reservation {
  reservation_id: string;
  conversation_id: string;
  amount: bigint;
  /** The proxy instance that made it (crash recovery settles only its own). */
  owner: string;
  created_at: number;
}

/** What reserve() is asked to record (the store stamps created_at). */
export type ReserveRequest = Omit<Reservation, "created_at">;

export interface Settlement {
  reservation_id: string;
  conversation_id: string;
  reserved: bigint;
  /** What was moved to `spent`; never more than reserved + the unreserved balance at settle time. */
  charged: bigint;
  settled_at: number;
}

/**
 * A proxy process's claim on an instance id (the owner tag of its reservations), or on a role: the
 * settlement leader's lease is one with id "@settlement" (settlement/lease.ts).
 */
export interface InstanceLease {
  id: string;
  /** Drawn per process start: a restart is a new holder of the same id. */
  nonce: string;
  host: string;
  pid: number;
  started_at: number;
  /** A lease not renewed by then is free for the next claimant. */
  expires_at: number;
  /** A role's lease: the instance id of the process holding it. */
  instance_id?: string;
}

export type LeaseResult = { ok: true } | { ok: false; held: InstanceLease };

/** The store was created for another contract than the one asking (T19). */
export class StoreContractError extends Error {
  override name = "StoreContractError";
}

export type ReserveResult =
  | { ok: true; state: ConversationState }
  | { ok: false; reason: "not_found" | "closed" | "insufficient"; available: bigint };

export interface ConversationStore {
  /** Inserts the conversation unless present and returns the stored state (first writer wins). */
  ensureConversation(init: NewConversation): Promise<ConversationState>;
  getConversation(conversationId: string): Promise<ConversationState | undefined>;
  /** Atomically: if open and spent + reserved + amount <= deposit, record the reservation. */
  reserve(request: ReserveRequest): Promise<ReserveResult>;
  /**
   * Atomically closes a reservation, moving min(cost, reserved + unreserved balance) to `spent` and
   * releasing the rest. Idempotent: settling a settled reservation returns the first settlement.
   * Undefined for an unknown reservation id.
   */
  settle(reservationId: string, cost: bigint): Promise<Settlement | undefined>;
  openReservations(filter?: { conversation_id?: string; owner?: string }): Promise<Reservation[]>;
  settlements(conversationId: string): Promise<Settlement[]>;
  /** Marks the conversation closed (idempotent); undefined when unknown. */
  closeConversation(conversationId: string): Promise<ConversationState | undefined>;
  getRefund(conversationId: string): Promise<SignedRefund | undefined>;
  /** Stores the signed refund unless one exists; returns the stored one, so every caller sees the same. */
  saveRefund(conversationId: string, refund: SignedRefund): Promise<SignedRefund>;
  /**
   * Takes or renews the lease on `lease.id`: granted when nobody holds it, the holder is this same
   * nonce, the holder's lease expired, or the holder's nonce is `replacing` (a holder known dead).
   */
  claimInstance(lease: InstanceLease, replacing?: string): Promise<LeaseResult>;
  /** Gives the lease up (only if this nonce still holds it). */
  releaseInstance(lease: InstanceLease): Promise<void>;
  /** Conversations whose payout is not final (none yet, claimed or submitted): settlement's work list. */
  unsettledConversations(): Promise<ConversationState[]>;
  /**
   * Atomically replaces the payout by `change(current, state)` (undefined: leave it as it is) and
   * returns the payout stored after; undefined for an unknown conversation.
   */
  updatePayout(
    conversationId: string,
    change: (current: Payout | undefined, state: ConversationState) => Payout | undefined,
  ): Promise<Payout | undefined>;
  dispose(): Promise<void>;
}

export function available(state: ConversationState): bigint {
  return state.deposit - state.spent - state.reserved;
}
