// The conversation ledger. Small, async and engine-neutral on purpose: the embedded SQLite store and
// the NATS JetStream KV store (compare-and-set per conversation key) implement it.
// Invariant every implementation keeps, atomically per conversation: 0 <= spent + reserved <= deposit
// (the arithmetic is ledger.ts, shared). A store belongs to one contract (T19) and holds the leases
// that keep replica identities unique (T20).
import type { SignedRefund } from "../../../wire/index.js";

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
}

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

export interface Settlement {
  reservation_id: string;
  conversation_id: string;
  reserved: bigint;
  /** What was moved to `spent`; never more than reserved + the unreserved balance at settle time. */
  charged: bigint;
  settled_at: number;
}

/** A proxy process's claim on an instance id (the owner tag of its reservations). */
export interface InstanceLease {
  id: string;
  /** Drawn per process start: a restart is a new holder of the same id. */
  nonce: string;
  host: string;
  pid: number;
  started_at: number;
  /** A lease not renewed by then is free for the next claimant. */
  expires_at: number;
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
  reserve(request: {
    conversation_id: string;
    reservation_id: string;
    amount: bigint;
    owner: string;
  }): Promise<ReserveResult>;
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
  dispose(): Promise<void>;
}

export function available(state: ConversationState): bigint {
  return state.deposit - state.spent - state.reserved;
}
